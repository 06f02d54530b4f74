#include "flags.hpp"

#include <spindle/threads_spec.hpp>

#include <cctype>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace spindle::cli {

namespace {

// A --min-size or --max-size value as the user wrote it, kept for the message when they conflict.
struct SizeBounds {
  std::string min_text;
  std::string max_text;
};

std::uint64_t size_or_throw(const std::string& text, SizeRounding rounding, const char* flag) {
  std::optional<std::uint64_t> bytes = parse_size(text, rounding);
  if (!bytes) {
    throw CLI::ValidationError(flag, "'" + text + "' is not a size (examples: 100, 4K, 1.5M, 2G)");
  }
  return *bytes;
}

std::string lowercase(std::string text) {
  for (char& c : text) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return text;
}

// An option whose value is one of a few names (any case). Only the names are accepted: CLI11's
// own enum conversion would also take the enumerator's number ("-f 2"), which nobody means. The
// names, joined, are the name of the option's one validator, so a usage message can list them.
template <typename Enum>
CLI::Option* add_choice_option(CLI::App& app, const std::string& names, Enum& target,
                               std::vector<std::pair<std::string, Enum>> choices, const std::string& description) {
  std::string list;
  for (const auto& choice : choices) {
    list += (list.empty() ? "" : ", ") + choice.first;
  }
  CLI::Option* option = app.add_option_function<std::string>(
      names,
      [&target, choices](const std::string& text) {
        for (const auto& [name, value] : choices) {
          if (lowercase(text) == name) {
            target = value;
          }
        }
      },
      description);
  option->check(CLI::Validator(
      [choices, list](std::string& text) {
        for (const auto& choice : choices) {
          if (lowercase(text) == choice.first) {
            return std::string();
          }
        }
        return "'" + text + "' is not one of " + list;
      },
      "", list));
  return option;
}

}  // namespace

std::string expected_value(CLI::Option& option) {
  try {
    if (CLI::Validator* choices = option.get_validator(0); choices != nullptr && !choices->get_name().empty()) {
      return "one of " + choices->get_name();
    }
  } catch (const CLI::OptionNotFound&) {
    // No validator: not a choice option.
  }
  const std::string type = option.get_type_name();
  if (type == "SIZE") {
    return "a size such as 100, 4K, 1.5M or 2G";
  }
  if (type == "SPEC") {
    return "rules such as 8, ssd:16,8 or hdd:1,dev:/dev/sdb:2";
  }
  if (type == "GLOB") {
    return "a pattern such as '*.jpg'";
  }
  if (type == "FILE") {
    return "a file name";
  }
  return type.empty() ? "a value" : type;
}

void add_walk_flags(CLI::App& app, Config& config) {
  app.add_option("paths", config.paths, "Files and directories to scan, recursively (default: the current directory)")
      ->type_name("PATH");
  app.add_flag("-L,--follow-links", config.follow_links,
               "Follow symbolic links to files and directories (symlinked command-line paths are always followed)");
  app.add_flag("-x,--one-file-system", config.one_file_system,
               "Do not descend into directories on other filesystems than the path given");
  app.add_flag_callback(
      "--no-hidden", [&config] { config.include_hidden = false; },
      "Skip files and directories whose name starts with '.' (included by default)");
  app.add_option("--name", config.name_globs,
                 "Only consider files whose base name matches GLOB (repeatable; any match keeps the file)")
      ->type_name("GLOB")
      ->allow_extra_args(false);
  app.add_option("--exclude", config.exclude_globs,
                 "Skip files and directories whose base name matches GLOB, or whose full path matches "
                 "when GLOB contains '/' (repeatable)")
      ->type_name("GLOB")
      ->allow_extra_args(false);
}

void add_candidate_flags(CLI::App& app, Config& config) {
  // A bound is a byte count: at least 6.5 bytes is at least 7, at most 6.5 bytes is at most 6.
  auto bounds = std::make_shared<SizeBounds>();
  app.add_option_function<std::string>(
         "--min-size",
         [&config, bounds](const std::string& text) {
           config.min_size = size_or_throw(text, SizeRounding::up, "--min-size");
           bounds->min_text = text;
         },
         "Ignore files smaller than SIZE bytes (suffixes K, M, G, T: powers of 1024; a fraction of a byte "
         "rounds up)")
      ->type_name("SIZE");
  app.add_option_function<std::string>(
         "--max-size",
         [&config, bounds](const std::string& text) {
           config.max_size = size_or_throw(text, SizeRounding::down, "--max-size");
           bounds->max_text = text;
         },
         "Ignore files larger than SIZE bytes (suffixes K, M, G, T; a fraction of a byte rounds down)")
      ->type_name("SIZE");
  app.add_flag("--include-empty", config.include_empty, "Report empty files as duplicates of each other");
  app.add_flag("-H,--hard-links", config.hard_links,
               "Report hard links to one file as duplicates (by default each inode is listed once)");
  // Bounds that no file can meet are a mistake, not a request for an empty report.
  app.final_callback([&config, bounds] {
    if (config.max_size && config.min_size > *config.max_size) {
      // "--min-size 6.5 (7 bytes)": the rounded count, when it is not what the user typed.
      const auto bound = [](const std::string& text, std::uint64_t bytes) {
        return text == std::to_string(bytes) ? text : text + " (" + std::to_string(bytes) + " bytes)";
      };
      throw CLI::ValidationError("--min-size " + bound(bounds->min_text, config.min_size) +
                                 " is larger than --max-size " + bound(bounds->max_text, *config.max_size) +
                                 ": no file can match");
    }
  });
}

void add_threads_flag(CLI::App& app, Config& config) {
  app.add_option_function<std::vector<std::string>>(
         "-t,--threads",
         [&config](const std::vector<std::string>& specs) {
           for (const std::string& spec : specs) {
             try {
               for (ThreadsRule& rule : parse_threads_argument(spec)) {
                 config.threads.rules.push_back(std::move(rule));
               }
             } catch (const ThreadsSpecError& e) {
               throw CLI::ValidationError("--threads", e.what());
             }
           }
         },
         threads_help())
      ->type_name("SPEC")
      ->allow_extra_args(false);
}

void add_report_flags(CLI::App& app, Config& config) {
  add_choice_option(app, "-f,--format", config.format,
                    {{"text", ReportFormat::text},
                     {"fdupes", ReportFormat::fdupes},
                     {"csv", ReportFormat::csv},
                     {"json", ReportFormat::json}},
                    "Report format: text (default), fdupes, csv or json (see FORMATS in the man page)")
      ->type_name("FORMAT");
  app.add_option("-o,--output", config.output_path,
                 "Write the report to FILE instead of stdout, as a shell redirect would but atomically where "
                 "possible: a regular file (or a symlink's target) is replaced when the report is complete, keeping "
                 "its mode and owner; a hard-linked file is rewritten in place; a device or FIFO is written, never "
                 "replaced. FILE is checked before the walk and left as it was when the run is interrupted or no "
                 "PATH could be read")
      ->type_name("FILE");
  app.add_flag("--stats", config.stats,
               "Print statistics (per stage and per device pool) to stderr, and into the JSON report");
  add_choice_option(
      app, "--progress", config.progress,
      {{"never", ProgressMode::never}, {"auto", ProgressMode::auto_detect}, {"always", ProgressMode::always}},
      "Progress display on stderr: never, auto (default: only when stderr is a terminal) or always")
      ->type_name("WHEN");
}

void add_verbosity_flags(CLI::App& app, Config& config) {
  // add_flag_function gets the number of times the flag was given (-vv is two).
  app.add_flag_function(
      "-v,--verbose", [&config](std::int64_t count) { config.verbosity += static_cast<int>(count); },
      "Log more to stderr (repeat for debug output)");
  app.add_flag_callback(
      "-q,--quiet", [&config] { config.verbosity = -1; }, "Log only errors to stderr");
}

namespace {

// What a cache entry must still match, said once for --cache and --cache-ignore-ctime.
const char* const k_cache_ctime_help =
    "Also use a cache entry when only the file's ctime changed: renamed files, files moved within their filesystem "
    "and files whose links or permissions changed stay cached. The trade-off: a file rewritten and then given its "
    "old size and mtime back (touch -d) changes only its ctime, and is then not read again";

}  // namespace

void add_cache_flags(CLI::App& app, Config& config) {
  app.add_flag("--cache", config.cache,
               "Keep digests in a persistent cache and use them for files that did not change (same filesystem, "
               "inode, size, mtime and ctime, to the nanosecond): a run over an unchanged tree reads no file content. "
               "Default database $XDG_CACHE_HOME/spindle/hashes.sqlite (else ~/.cache/spindle/hashes.sqlite); see "
               "CACHE in the man page");
  app.add_option_function<std::string>(
         "--cache-path",
         [&config](const std::string& path) {
           config.cache = true;
           config.cache_path = path;
         },
         "Use the cache database FILE (created if missing; implies --cache)")
      ->type_name("FILE");
  app.add_flag_callback(
      "--cache-ignore-ctime",
      [&config] {
        config.cache = true;
        config.cache_ignore_ctime = true;
      },
      std::string(k_cache_ctime_help) + " (implies --cache)");
}

void add_cache_command_flags(CLI::App& app, Config& config, CacheAction& action) {
  add_choice_option(app, "action", action,
                    {{"stats", CacheAction::stats}, {"prune", CacheAction::prune}, {"clear", CacheAction::clear}},
                    "stats: entries, files, size on disk and path of the cache; prune: delete the entries of files "
                    "that no longer exist or changed (a renamed file's old entry too); clear: delete every entry")
      ->type_name("ACTION")
      ->required();
  app.add_option("--cache-path", config.cache_path,
                 "The cache database (default $XDG_CACHE_HOME/spindle/hashes.sqlite, else "
                 "~/.cache/spindle/hashes.sqlite)")
      ->type_name("FILE");
  app.add_flag("--cache-ignore-ctime", config.cache_ignore_ctime,
               "prune: keep entries whose file changed only its ctime (as runs with this flag use them)");
}

void add_devices_flags(CLI::App& app, Config& config, DevicesOptions& options) {
  app.add_option("paths", options.paths,
                 "Show the devices these files and directories live on (default: every mounted filesystem "
                 "with real storage; kernel pseudo filesystems such as proc, sysfs and cgroup are left out)")
      ->type_name("PATH");
  add_choice_option(app, "-f,--format", config.format, {{"text", ReportFormat::text}, {"json", ReportFormat::json}},
                    "Output format: text (default) or json")
      ->type_name("FORMAT");
  app.add_flag("--calibrate", options.calibrate,
               "Measure each device: read a bounded sample of its files (read-only, cold cache where possible, "
               "about 10 s per device) with 1, 2, 4, 8, 16 and 32 threads, once with short reads and once with "
               "whole-file reads, print the throughput of each, and store the fewest threads within 5% of the best "
               "of each (as r,s) in $XDG_CONFIG_HOME/spindle/calibration (default ~/.config/spindle/calibration), "
               "which later runs use unless a --threads rule applies to the device");
}

std::string threads_help() {
  std::string help =
      "Threads per pool, in fclones' grammar [<name>:]<r>[,<s>] (repeatable; comma-separated rules): r threads "
      "for the short prefix/suffix reads, s for whole-file reads (default s = r). <name> is a class (ssd, hdd, "
      "virtual, removable, network, ram, unknown), main (the walk and in-memory work), or dev:<device> for one "
      "device (dev:/dev/sdb:2 or dev:8:16:2); a bare N sets every pool not otherwise named. The most specific "
      "rule wins. Defaults: ";
  help += default_threads_text();
  help += ". A pool not sized here reads a stage whose data is already cached with one thread per CPU.";
  return help;
}

}  // namespace spindle::cli
