#pragma once

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
// The persistent hash cache: --cache, --cache-path, --cache-ignore-ctime (group, hash).
void add_cache_flags(CLI::App& app, Config& config);

// What `spindle cache` takes: its action, --cache-path and --cache-ignore-ctime (for prune).
enum class CacheAction { stats, prune, clear };
void add_cache_command_flags(CLI::App& app, Config& config, CacheAction& action);

// What `spindle devices` takes beyond the shared flags.
struct DevicesOptions {
  std::vector<std::string> paths;  // empty: every mounted filesystem that has real storage
  bool calibrate = false;
};
// PATH..., --format text|json (into config.format) and --calibrate.
void add_devices_flags(CLI::App& app, Config& config, DevicesOptions& options);

// What a value of `option` looks like ("one of text, json", "a size such as 100, 4K..."), for a
// usage message about a missing or bad value.
std::string expected_value(CLI::Option& option);

// The --threads section of the help text, generated from the built-in defaults table.
std::string threads_help();

}  // namespace spindle::cli
