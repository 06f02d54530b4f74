#pragma once

#include <spindle/actions.hpp>
#include <spindle/config.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace spindle::cli {

// The one flag table: every flag's name and documentation is written once, here, and shared by
// the subcommands that take it. The man page and README are checked against --help by a test.
void add_walk_flags(CLI::App& app, Config& config);
void add_candidate_flags(CLI::App& app, Config& config);
void add_threads_flag(CLI::App& app, Config& config);
void add_report_flags(CLI::App& app, Config& config);
void add_verbosity_flags(CLI::App& app, Config& config);

// What `spindle devices` takes beyond the shared flags.
struct DevicesOptions {
  std::vector<std::string> paths;  // empty: every mounted filesystem that has real storage
  bool calibrate = false;
};
// PATH..., --format text|json (into config.format) and --calibrate.
void add_devices_flags(CLI::App& app, Config& config, DevicesOptions& options);

// What `spindle link|symlink|remove|move|dedupe` take beyond the shared flags.
struct ActionCommandOptions {
  ActionOptions action;
  std::string report;  // empty or "-": standard input
};
// REPORT, the keep policy, --no-verify, --dry-run, --stats, --progress, -q/-v, and the flags of
// `kind` alone (--relative, --to, --clone).
void add_action_flags(CLI::App& app, Config& config, ActionCommandOptions& options, ActionKind kind);

// --progress (group and the actions).
void add_progress_flag(CLI::App& app, Config& config);

// What a value of `option` looks like ("one of text, json", "a size such as 100, 4K..."), for a
// usage message about a missing or bad value.
std::string expected_value(CLI::Option& option);

// The --threads section of the help text, generated from the built-in defaults table.
std::string threads_help();

}  // namespace spindle::cli
