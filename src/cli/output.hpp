#pragma once

#include <spindle/config.hpp>
#include <spindle/log.hpp>
#include <spindle/output_file.hpp>
#include <spindle/run_stats.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

namespace spindle::cli {

// Where `-o FILE` (empty or "-": stdout) sends the report, opened before any work so that a bad
// FILE fails in milliseconds (Fatal, exit 3) and never after the walk. See OutputFile for what is
// done with each kind of FILE.
OutputFile open_report(const std::string& path, const CancelToken& cancel);

// -q → errors only, default → warnings, -v → info, -vv → debug.
LogLevel log_level_for(int verbosity);

// Whether to colour what goes to descriptor `fd` (1 or 2): never; always (a pipe too: that is
// what always means); auto: only a terminal, and not when TERM is dumb or NO_COLOR is set (to
// anything but the empty string, as no-color.org says).
bool colour_wanted(ColorMode mode, int fd);
// The report's colour: as colour_wanted for stdout, and never for -o FILE, which is data.
bool report_colour(ColorMode mode, const OutputFile& output);
// -v without --stats: one line per reading stage with the threads each pool really read it with
// ("stage prefix: threads vda=4, loop0=1"), the numbers --stats prints at the end of its lines.
std::vector<std::string> stage_thread_lines(const RunStats& stats);

// The logger of a run: stderr at the level -q/-v asked for, coloured as --color says.
Logger make_logger(const Config& config);

}  // namespace spindle::cli
