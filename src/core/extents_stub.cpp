// STUB: stands in for src/core/extents.cpp (branch `dedupe`) until it is merged; the integrator
// drops this file and its CMake line. Every request is "not supported", so dedupe is skipped.
#include <spindle/extents.hpp>

#include <cerrno>

namespace spindle {

Result<bool> extents_shared(int, int, std::uint64_t, const std::string&) {
  return false;
}

Result<std::uint64_t> share_extents(int, int, std::uint64_t, ShareMode mode, const std::string& dup_path) {
  return FileError{dup_path, EOPNOTSUPP, mode == ShareMode::clone ? "clone" : "dedupe", ""};
}

}  // namespace spindle
