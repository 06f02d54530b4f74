#pragma once

#include <spindle/actions.hpp>
#include <spindle/config.hpp>
#include <spindle/hash_algo.hpp>
#include <spindle/hash_run.hpp>

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace spindle::cli {

// The one flag table: every flag's name and documentation is written once, here, and shared by
// the subcommands that take it. The man page and README are checked against --help by a test.
void add_walk_flags(CLI::App& app, Config& config);
void add_candidate_flags(CLI::App& app, Config& config);  // add_size_flags, --include-empty, -H
void add_size_flags(CLI::App& app, Config& config);       // --min-size, --max-size
void add_dir_flags(CLI::App& app, Config& config);        // --dirs, --dirs-ignore-names (group only)
void add_threads_flag(CLI::App& app, Config& config);
void add_mpi_flag(CLI::App& app, Config& config);      // --mpi (group only), group "Threads"
void add_report_flags(CLI::App& app, Config& config);  // --format, then add_output_flags
void add_output_flags(CLI::App& app, Config& config);  // -o, --stats, --progress
// group's reading flags: --paranoid.
void add_read_flags(CLI::App& app, Config& config);

// --files-from FILE and --null (group and hash): PATHs from a list instead of the command line.
struct PathListOptions {
  std::string files_from;  // empty: PATHs from the command line; "-": standard input
  bool null_separated = false;
};
// Must follow add_walk_flags (a list excludes PATH arguments).
void add_path_list_flags(CLI::App& app, PathListOptions& options);

// --exclude-from FILE, --newer-than, --older-than (group and hash), group "Input". Must follow
// add_path_list_flags: FILE may be '-' unless the --files-from list is standard input too, a usage
// error, as is a --newer-than no earlier than --older-than. (Both checked in the app's
// parse_complete_callback, which this sets.)
struct InputFilterOptions {
  std::string exclude_from;  // empty: none; "-": standard input; read by the command (read_glob_list)
};
void add_input_filter_flags(CLI::App& app, Config& config, InputFilterOptions& options, const PathListOptions& list);

// --rf-over, --rf-under, --unique, --isolate (group), group "Selection".
void add_replication_flags(CLI::App& app, Config& config);

// -z/--zero (group's text and fdupes formats, hash listings): NUL ends each line, nothing escaped.
void add_zero_flag(CLI::App& app, bool& zero);

// What `spindle hash` takes beyond the shared flags.
struct HashOptions {
  HashAlgo algo = HashAlgo::xxh128;
  bool tag = false;
  bool zero = false;
  ListOrder order = ListOrder::path;
  bool check = false;   // PATHs are listings to verify
  bool status = false;  // --check: print nothing, only the exit status
};
// --algo, --tag, --order, -f/--format text|json (into config.format), -c/--check, --status.
void add_hash_flags(CLI::App& app, Config& config, HashOptions& options);
// -v/--verbose, -q/--quiet and --color (every subcommand).
void add_verbosity_flags(CLI::App& app, Config& config);
void add_color_flag(CLI::App& app, Config& config);
// The persistent hash cache: --cache, --cache-path, --cache-ignore-ctime (group, hash).
void add_cache_flags(CLI::App& app, Config& config);

// What `spindle cache` takes: its action, --cache-path and --cache-ignore-ctime (for prune).
enum class CacheAction { stats, prune, clear };
void add_cache_command_flags(CLI::App& app, Config& config, CacheAction& action);

// What `spindle devices` takes beyond the shared flags.
struct DevicesOptions {
  std::vector<std::string> paths;  // empty: every mounted filesystem that has real storage
  bool calibrate = false;
  bool system = false;  // --calibrate stores in the system store (system_calibration_path())
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

// What `group --catalog` takes: the catalogs and where their records are sorted.
struct CatalogFlags {
  std::vector<std::string> catalogs;  // "-" is standard input
  std::string tmp_dir;                // empty: $TMPDIR, else /tmp
};
// --catalog FILE (repeatable) and --tmp-dir DIR, group "Input". Must follow add_read_flags,
// add_dir_flags and add_replication_flags: --catalog excludes what needs file content or every
// group at once (--paranoid, --dirs, --rf-over, --rf-under, --unique, --isolate).
void add_catalog_flags(CLI::App& app, CatalogFlags& options);

}  // namespace spindle::cli
