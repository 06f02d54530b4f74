#pragma once

#include <string>

namespace spindle::cli {

// What `spindle --version` prints: "spindle X.Y.Z" (CMake's project version), then one line per
// library it was built with (xxHash, CLI11, libudev, SQLite) and whether OpenMP is enabled.
std::string version_text();

}  // namespace spindle::cli
