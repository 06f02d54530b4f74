# Warnings for our own code: -Wall -Wextra and friends; -Werror when SPINDLE_WERROR is on (CI, dev).
add_library(standard_warnings INTERFACE)
target_compile_options(standard_warnings INTERFACE
  -Wall -Wextra -Wshadow -Wpedantic -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  $<$<BOOL:${SPINDLE_WERROR}>:-Werror>)
