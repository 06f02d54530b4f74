#pragma once

#include <spindle/log.hpp>
#include <spindle/output_file.hpp>

#include <functional>
#include <ostream>
#include <string>

namespace spindle::cli {

// Where `-o FILE` (empty or "-": stdout) sends the report, opened before any work so that a bad
// FILE fails in milliseconds (Fatal, exit 3) and never after the walk. See OutputFile for what is
// done with each kind of FILE.
OutputFile open_report(const std::string& path, const CancelToken& cancel);

// -q → errors only, default → warnings, -v → info, -vv → debug.
LogLevel log_level_for(int verbosity);

}  // namespace spindle::cli
