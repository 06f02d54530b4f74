# Every dependency comes from a Debian 12 package and is wrapped in a dep_* target.
find_package(PkgConfig REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS CXX)
find_package(CLI11 2.1 REQUIRED CONFIG)
find_package(Threads REQUIRED)

pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash>=0.8)
pkg_check_modules(UDEV REQUIRED IMPORTED_TARGET libudev)
# The persistent hash cache (cache.hpp): WAL mode for concurrent processes and crash safety.
find_package(SQLite3 3.22 REQUIRED)

add_library(dep_xxhash INTERFACE)
# Header-only use (XXH_INLINE_ALL in hash.cpp) lets the compiler inline XXH3 into the read loop.
target_include_directories(dep_xxhash SYSTEM INTERFACE ${XXHASH_INCLUDE_DIRS})

add_library(dep_udev INTERFACE)
target_link_libraries(dep_udev INTERFACE PkgConfig::UDEV)

add_library(dep_sqlite INTERFACE)
target_link_libraries(dep_sqlite INTERFACE SQLite::SQLite3)

add_library(dep_cli11 INTERFACE)
target_link_libraries(dep_cli11 INTERFACE CLI11::CLI11)
