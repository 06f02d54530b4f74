# CPack: a Debian package and a tarball of the installed tree.
set(CPACK_PACKAGE_NAME spindle)
set(CPACK_PACKAGE_CONTACT "spindle developers")
set(CPACK_GENERATOR "DEB;TGZ")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
include(CPack)
