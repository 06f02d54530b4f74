# Warnings for our own code: -Wall -Wextra and friends; -Werror when SPINDLE_WERROR is on (CI, dev).
add_library(standard_warnings INTERFACE)
target_compile_options(standard_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wpedantic -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  $<$<BOOL:${SPINDLE_WERROR}>:-Werror>)
# g++ 12 at -O3 warns -Wrestrict inside libstdc++ for every `"literal" + std::string`, a false
# positive fixed in g++ 13 (GCC bug 105651); silencing it there keeps real warnings visible.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(standard_warnings INTERFACE -Wno-restrict)
endif()
