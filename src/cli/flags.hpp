#pragma once

#include <CLI/CLI.hpp>

#include <spindle/config.hpp>

namespace spindle::cli {

// The one flag table: every flag's name and documentation is written once, here, and shared by
// the subcommands that take it. The man page and README are checked against --help by a test.
void add_walk_flags(CLI::App& app, Config& config);
void add_candidate_flags(CLI::App& app, Config& config);
void add_threads_flag(CLI::App& app, Config& config);
void add_report_flags(CLI::App& app, Config& config);
void add_verbosity_flags(CLI::App& app, Config& config);

// The --threads section of the help text, generated from the built-in defaults table.
std::string threads_help();

}  // namespace spindle::cli
