# What `cmake --install` puts where (and so what the Debian package ships): the binary, the man
# pages, and the shell completions, which the build generates with the binary it just made
# (`spindle completions SHELL`), so they list exactly its commands and flags.
include(GNUInstallDirs)
install(TARGETS spindle RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(SPINDLE_MPI_ENABLED)  # next to spindle: `spindle group --mpi` runs it from there
  install(TARGETS spindle-mpi RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# spindle(1) and one page per command; the actions share spindle-actions(1), and
# spindle-link(1) ... spindle-dedupe(1) are symbolic links to it (as Debian policy prefers to .so
# pages; dh_compress points them at the compressed page).
set(SPINDLE_MAN_PAGES
  man/spindle.1
  man/spindle-group.1
  man/spindle-hash.1
  man/spindle-devices.1
  man/spindle-cache.1
  man/spindle-actions.1)
set(SPINDLE_MAN_ACTION_ALIASES link symlink remove move dedupe)
install(FILES ${SPINDLE_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
foreach(action IN LISTS SPINDLE_MAN_ACTION_ALIASES)
  # Evaluated at install time, so DESTDIR and `cmake --install --prefix` are honoured.
  install(CODE "
    set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man1\")
    message(STATUS \"Installing: \${dir}/spindle-${action}.1 -> spindle-actions.1\")
    file(CREATE_LINK spindle-actions.1 \"\${dir}/spindle-${action}.1\" SYMBOLIC)")
endforeach()
# spindle-mpi(1): a link to spindle-group(1), which documents --mpi.
if(SPINDLE_MPI_ENABLED)
  install(CODE "
    set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_MANDIR}/man1\")
    message(STATUS \"Installing: \${dir}/spindle-mpi.1 -> spindle-group.1\")
    file(CREATE_LINK spindle-group.1 \"\${dir}/spindle-mpi.1\" SYMBOLIC)")
endif()

set(SPINDLE_COMPLETIONS_DIR ${PROJECT_BINARY_DIR}/completions)
set(SPINDLE_COMPLETION_FILES
  ${SPINDLE_COMPLETIONS_DIR}/spindle.bash
  ${SPINDLE_COMPLETIONS_DIR}/_spindle
  ${SPINDLE_COMPLETIONS_DIR}/spindle.fish)
add_custom_command(
  OUTPUT ${SPINDLE_COMPLETION_FILES}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${SPINDLE_COMPLETIONS_DIR}
  COMMAND spindle completions bash -o ${SPINDLE_COMPLETIONS_DIR}/spindle.bash
  COMMAND spindle completions zsh -o ${SPINDLE_COMPLETIONS_DIR}/_spindle
  COMMAND spindle completions fish -o ${SPINDLE_COMPLETIONS_DIR}/spindle.fish
  DEPENDS spindle
  COMMENT "Generating bash, zsh and fish completions from spindle's command line"
  VERBATIM)
add_custom_target(completions ALL DEPENDS ${SPINDLE_COMPLETION_FILES})

# The locations Debian's bash-completion, zsh and fish read vendor completions from.
install(FILES ${SPINDLE_COMPLETIONS_DIR}/spindle.bash
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME spindle)
install(FILES ${SPINDLE_COMPLETIONS_DIR}/_spindle DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${SPINDLE_COMPLETIONS_DIR}/spindle.fish DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
