# CPack: a tarball of the installed tree (`cpack -G TGZ`). The Debian package is built with
# debhelper by packaging/build-deb.sh, which gets shlibs Depends, compressed man pages, the
# copyright file and the changelog right; CPack's DEB generator is not used, so there is one way.
set(CPACK_PACKAGE_NAME spindle)
set(CPACK_PACKAGE_CONTACT "spindle developers")
set(CPACK_GENERATOR "TGZ")
include(CPack)
