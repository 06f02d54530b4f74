#pragma once

#include <spindle/log.hpp>

#include <functional>
#include <ostream>
#include <string>

namespace spindle::cli {

// Write through `fill` to stdout (path empty or "-"), or to `path` via a temporary file renamed
// into place only after everything was written, so an interrupted or failed run never leaves a
// partial report behind that looks complete. Throws Fatal when the output cannot be written.
void write_atomically(const std::string& path, const std::function<void(std::ostream&)>& fill);

// -q → errors only, default → warnings, -v → info, -vv → debug.
LogLevel log_level_for(int verbosity);

}  // namespace spindle::cli
