#pragma once

#include <string>
#include <vector>

namespace spindle {

// One library spindle_core was built with, for `spindle --version` and bug reports.
struct Component {
  std::string name;     // "xxHash", "libudev", "SQLite", "OpenMP"
  std::string version;  // as its headers or pkg-config said at build time; "disabled" for no OpenMP
  std::string detail;   // extra words, such as the SQLite library loaded at run time; may be empty
};

// The libraries of the core, in a fixed order: xxHash, libudev, SQLite, OpenMP. (CLI11 belongs to
// the command line, which adds it.) Versions come from the build: a bug report then says what
// the binary was compiled against, not what happens to be installed now.
std::vector<Component> build_components();

}  // namespace spindle
