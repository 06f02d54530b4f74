# Language level and build-type settings shared by every target (an INTERFACE target, as ccache does).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
  set(CMAKE_BUILD_TYPE Release CACHE STRING "Build type" FORCE)
endif()

add_library(standard_settings INTERFACE)
target_compile_definitions(standard_settings INTERFACE
  $<$<CONFIG:Debug>:_GLIBCXX_ASSERTIONS> _FILE_OFFSET_BITS=64)

if(SPINDLE_CLANG_TIDY)
  find_program(CLANG_TIDY_EXE NAMES clang-tidy-14 clang-tidy REQUIRED)
  set(CMAKE_CXX_CLANG_TIDY ${CLANG_TIDY_EXE})
endif()
