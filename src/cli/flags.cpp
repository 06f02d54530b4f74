#include "flags.hpp"

#include <spindle/threads_spec.hpp>
#include <spindle/time_filter.hpp>

#include <cctype>
#include <charconv>
#include <chrono>
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
  if (type == "DIR") {
    return "a directory";
  }
  if (type == "N") {
    return "a whole number";
  }
  return type.empty() ? "a value" : type;
}

void add_walk_flags(CLI::App& app, Config& config) {
  app.add_option("paths", config.paths, "Files and directories to scan, recursively (default: the current directory)")
      ->type_name("PATH")
      ->group("Input");
  app.add_flag("-L,--follow-links", config.follow_links,
               "Follow symbolic links to files and directories (symlinked command-line paths are always followed)")
      ->group("Input");
  app.add_flag("-x,--one-file-system", config.one_file_system,
               "Do not descend into directories on other filesystems than the path given")
      ->group("Input");
  app.add_flag_callback(
         "--no-hidden", [&config] { config.include_hidden = false; },
         "Skip files and directories whose name starts with '.' (included by default)")
      ->group("Input");
  app.add_option("--name", config.name_globs,
                 "Only consider files whose base name matches GLOB (repeatable; any match keeps the file)")
      ->type_name("GLOB")
      ->allow_extra_args(false)
      ->group("Input");
  app.add_option("--exclude", config.exclude_globs,
                 "Skip files and directories whose base name matches GLOB, or whose full path matches "
                 "when GLOB contains '/' (repeatable)")
      ->type_name("GLOB")
      ->allow_extra_args(false)
      ->group("Input");
}

void add_candidate_flags(CLI::App& app, Config& config) {
  add_size_flags(app, config);
  app.add_flag("--include-empty", config.include_empty, "Report empty files as duplicates of each other")
      ->group("Selection");
  app.add_flag("-H,--hard-links", config.hard_links,
               "Report hard links to one file as duplicates (by default each inode is listed once)")
      ->group("Selection");
}

void add_dir_flags(CLI::App& app, Config& config) {
  app.add_flag("--dirs", config.dirs,
               "Also report directories whose whole content (the files under them, their contents and relative "
               "names) equals another directory's; their files leave the file groups. Only the topmost such "
               "directories are reported, and only directories whose every entry was seen and has a copy (a file "
               "left out by a filter or unreadable makes its directory no duplicate)")
      ->group("Selection");
  app.add_flag_callback(
         "--dirs-ignore-names",
         [&config] {
           config.dirs = true;
           config.dirs_ignore_names = true;
         },
         "Like --dirs, but directories compare the contents of the files under them only, names and layout "
         "ignored")
      ->group("Selection");
}

void add_size_flags(CLI::App& app, Config& config) {
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
      ->type_name("SIZE")
      ->group("Selection");
  app.add_option_function<std::string>(
         "--max-size",
         [&config, bounds](const std::string& text) {
           config.max_size = size_or_throw(text, SizeRounding::down, "--max-size");
           bounds->max_text = text;
         },
         "Ignore files larger than SIZE bytes (suffixes K, M, G, T; a fraction of a byte rounds down)")
      ->type_name("SIZE")
      ->group("Selection");
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
      ->allow_extra_args(false)
      ->group("Threads");
}

void add_report_flags(CLI::App& app, Config& config) {
  add_choice_option(app, "-f,--format", config.format,
                    {{"text", ReportFormat::text},
                     {"fdupes", ReportFormat::fdupes},
                     {"csv", ReportFormat::csv},
                     {"json", ReportFormat::json},
                     {"jsonl", ReportFormat::jsonl}},
                    "Report format: text (default), fdupes, csv, json or jsonl (one group per line, written as "
                    "each group is final; see FORMATS in the man page)")
      ->type_name("FORMAT")
      ->group("Output");
  add_output_flags(app, config);
}

void add_output_flags(CLI::App& app, Config& config) {
  app.add_option("-o,--output", config.output_path,
                 "Write the report to FILE instead of stdout, as a shell redirect would but atomically where "
                 "possible: a regular file (or a symlink's target) is replaced when the report is complete, keeping "
                 "its mode and owner; a hard-linked file is rewritten in place; a device or FIFO is written, never "
                 "replaced. FILE is checked before the walk and left as it was when the run is interrupted or no "
                 "PATH could be read")
      ->type_name("FILE")
      ->group("Output");
  app.add_flag("--stats", config.stats,
               "Print statistics (per stage and per device pool) to stderr, and into the JSON report (jsonl: as "
               "its last line, {\"stats\": ...})")
      ->group("Output");
  add_progress_flag(app, config);
}

void add_read_flags(CLI::App& app, Config& config) {
  app.add_flag("--paranoid", config.paranoid,
               "After hashing, compare every file of a group byte by byte with the group's first file (on the "
               "device pools, in bounded buffers) and split the group where bytes differ: no file is reported as a "
               "copy on the strength of a hash alone. Reads every candidate once more")
      ->group("Selection");
}

void add_progress_flag(CLI::App& app, Config& config) {
  add_choice_option(
      app, "--progress", config.progress,
      {{"never", ProgressMode::never}, {"auto", ProgressMode::auto_detect}, {"always", ProgressMode::always}},
      "Progress display on stderr: never, auto (default: only when stderr is a terminal) or always")
      ->type_name("WHEN")
      ->group("Output");
}

void add_action_flags(CLI::App& app, Config& config, ActionCommandOptions& options, ActionKind kind) {
  ActionOptions& action = options.action;
  action.kind = kind;
  KeepPolicy& keep = action.keep;
  app.add_option("report", options.report,
                 "A report of `spindle group` in its json (recommended: it records each file's inode and mtime, so "
                 "a file changed since is skipped) or default text format; '-' or none: standard input. The whole "
                 "report is checked before any file is touched")
      ->type_name("REPORT")
      ->group("Input");
  add_choice_option(app, "--keep", keep.order,
                    {{"first", KeepOrder::first},
                     {"oldest", KeepOrder::oldest},
                     {"newest", KeepOrder::newest},
                     {"shortest-path", KeepOrder::shortest_path},
                     {"longest-path", KeepOrder::longest_path}},
                    "Which copy of a group to keep: first (under the earliest PATH given to group, then the first "
                    "path), oldest or newest (mtime), shortest-path or longest-path. Default: the earliest PATH, "
                    "then the oldest mtime, then the bytewise first path")
      ->type_name("ORDER")
      ->group("Selection");
  app.add_option("--keep-path", keep.keep_path_globs,
                 "Keep first the copies whose path (as the report writes it) matches GLOB (repeatable)")
      ->type_name("GLOB")
      ->allow_extra_args(false)
      ->group("Selection");
  app.add_option("--priority", keep.priority_dirs,
                 "Keep first the copies under DIR; repeatable, an earlier DIR wins over a later one")
      ->type_name("DIR")
      ->allow_extra_args(false)
      ->group("Selection");
  app.add_option("--originals", keep.originals_dirs,
                 "Files under DIR are originals: never touched, and kept first; copies elsewhere are acted on "
                 "(repeatable)")
      ->type_name("DIR")
      ->allow_extra_args(false)
      ->group("Selection");
  app.add_option_function<std::string>(
         "--keep-count",
         [&keep](const std::string& text) {
           std::size_t count = 0;
           const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
           if (error != std::errc() || end != text.data() + text.size() || count < 1) {
             throw CLI::ValidationError("--keep-count", "'" + text + "' is not a whole number of at least 1");
           }
           keep.keep_count = count;
         },
         "Keep N copies of each group (distinct files, best first; default 1). Whatever the flags, every group "
         "keeps at least one copy, and other hard links of a kept file are never duplicates of it")
      ->type_name("N")
      ->group("Selection");
  app.add_flag_callback(
         "--no-verify", [&action] { action.verify = false; },
         "Do not compare the contents before acting (dangerous: a file changed without its size or mtime changing "
         "is then replaced or removed). By default each duplicate is compared byte for byte with the kept copy, "
         "whose content must still have the report's hash")
      ->group("Output");
  app.add_flag("--dry-run", action.dry_run,
               "Touch nothing: check every file as for a real run and print a shell script of what would be done "
               "(every path single-quoted) to review, or to run with sh")
      ->group("Output");
  if (kind == ActionKind::symlink) {
    app.add_flag("--relative", action.relative,
                 "Make relative symbolic links (from the link's directory to the kept copy); default: absolute")
        ->group("Output");
  }
  if (kind == ActionKind::move) {
    app.add_option("--to", action.move_to,
                   "Move duplicates under DIR, keeping their path as the report writes it (a relative path below "
                   "DIR as is, an absolute one or one with '..' as its absolute path); required")
        ->type_name("DIR")
        ->required()
        ->group("Output");
  }
  if (kind == ActionKind::dedupe) {
    app.add_flag("--clone", action.clone,
                 "Clone (FICLONE) instead of FIDEDUPERANGE: the kernel then does not compare the bytes itself, so "
                 "only the comparison before acting protects the data; the clone replaces the duplicate through a "
                 "temporary, keeping its owner, mode and times")
        ->group("Output");
  }
  app.add_flag("--stats", config.stats,
               "Print statistics to stderr: groups, files acted on, already done, skipped, bytes reclaimed and "
               "bytes read to verify, temporaries removed")
      ->group("Output");
  add_progress_flag(app, config);
  add_verbosity_flags(app, config);
}

void add_path_list_flags(CLI::App& app, PathListOptions& options) {
  CLI::Option* list =
      app.add_option("--files-from", options.files_from,
                     "Read the PATHs from FILE ('-': standard input), one per line, or NUL-separated with --null, "
                     "instead of the command line; a listed PATH that is missing or unreadable is an error (exit 1)")
          ->type_name("FILE")
          ->group("Input");
  if (CLI::Option* paths = app.get_option_no_throw("paths")) {
    list->excludes(paths);
  }
  app.add_flag("--null", options.null_separated,
               "The --files-from and --exclude-from lists are NUL-separated (find -print0), so names may hold "
               "newlines")
      ->group("Input");
}

namespace {

// A --newer-than/--older-than value, or a usage error that shows both forms.
std::int64_t time_or_throw(const std::string& text, const char* flag) {
  const std::int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::optional<std::int64_t> when = parse_time_point(text, now_ns);
  if (!when) {
    throw CLI::ValidationError(flag, "'" + text +
                                         "' is not a date or a duration (examples: 2026-01-31, "
                                         "2026-01-31T12:00:00Z, 2026-01-31T12:00+02:00, 30d, 12h, 90m, 2w)");
  }
  return *when;
}

// A --rf-over/--rf-under count of at least `least`.
std::size_t count_or_throw(const std::string& text, std::size_t least, const char* flag) {
  std::size_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error != std::errc() || end != text.data() + text.size() || count < least) {
    throw CLI::ValidationError(flag, "'" + text + "' is not a whole number of at least " + std::to_string(least));
  }
  return count;
}

}  // namespace

void add_input_filter_flags(CLI::App& app, Config& config, InputFilterOptions& options, const PathListOptions& list) {
  app.add_option("--exclude-from", options.exclude_from,
                 "Read --exclude GLOBs from FILE ('-': standard input), one per line, or NUL-separated with "
                 "--null; empty lines and lines starting with '#' are skipped (write '[#]' for a GLOB that "
                 "starts with '#')")
      ->type_name("FILE")
      ->group("Input");
  app.add_option_function<std::string>(
         "--newer-than",
         [&config](const std::string& text) { config.newer_than_ns = time_or_throw(text, "--newer-than"); },
         "Only consider files modified at or after WHEN: an ISO date or time (2026-01-31, 2026-01-31T12:00:00, "
         "local time unless it ends with Z or an offset such as +02:00) or a duration back from now (30d, 12h, "
         "90m, 2w, 45s; m is minutes)")
      ->type_name("WHEN")
      ->group("Input");
  app.add_option_function<std::string>(
         "--older-than",
         [&config](const std::string& text) { config.older_than_ns = time_or_throw(text, "--older-than"); },
         "Only consider files modified before WHEN (same forms as --newer-than; together they keep "
         "newer-than <= mtime < older-than)")
      ->type_name("WHEN")
      ->group("Input");
  // After every option's callback (final_callback is add_size_flags'): rules between options.
  app.parse_complete_callback([&config, &options, &list] {
    if (options.exclude_from == "-" && list.files_from == "-") {
      throw CLI::ValidationError(
          "--exclude-from - and --files-from - cannot both read standard input: give one "
          "of them a FILE");
    }
    if (config.newer_than_ns && config.older_than_ns && *config.newer_than_ns >= *config.older_than_ns) {
      throw CLI::ValidationError("--newer-than is not before --older-than: no file can match");
    }
    // jsonl lines are duplicate groups, the input of the actions; a report of what lacks copies or
    // of directories has a shape of its own, which only the json and text formats carry.
    if (config.format == ReportFormat::jsonl && (config.rf_under != 0 || config.dirs)) {
      throw CLI::ValidationError(std::string("--format jsonl writes duplicate groups one per line; ") +
                                 (config.dirs ? "--dirs" : "--rf-under and --unique") +
                                 " need the whole report: use --format json (or text)");
    }
  });
}

void add_replication_flags(CLI::App& app, Config& config) {
  CLI::Option* over =
      app.add_option_function<std::string>(
             "--rf-over", [&config](const std::string& text) { config.rf_over = count_or_throw(text, 1, "--rf-over"); },
             "Report groups of more than N copies (default 1: every duplicate). Copies are distinct files: hard "
             "links to one inode count once unless --hard-links, and with --isolate all copies under one PATH "
             "count once")
          ->type_name("N")
          ->group("Selection");
  CLI::Option* under =
      app.add_option_function<std::string>(
             "--rf-under",
             [&config](const std::string& text) { config.rf_under = count_or_throw(text, 2, "--rf-under"); },
             "Report the files that have fewer than N copies (N >= 2), grouped with the copies they have; a file "
             "with no copy is a group of one, found by its size or a partial hash, so never read whole (its hash "
             "is not written). Such a report is not one of duplicates: link, remove and the other actions refuse "
             "it")
          ->type_name("N")
          ->group("Selection");
  CLI::Option* unique = app.add_flag_callback(
                               "--unique", [&config] { config.rf_under = 2; },
                               "Report the files that have no copy, each as a group of one (the same as --rf-under 2)")
                            ->group("Selection");
  over->excludes(under)->excludes(unique);
  under->excludes(unique);
  app.add_flag("--isolate", config.isolate,
               "Count each PATH as one place: copies under one PATH count as one copy, so only copies found under "
               "two or more PATHs are duplicates (with --rf-under 2: what one PATH has that no other has). A file "
               "counts under the first PATH given that contains it: name a directory before a PATH that contains "
               "it to make it a place of its own")
      ->group("Selection");
}

void add_zero_flag(CLI::App& app, bool& zero) {
  app.add_flag("-z,--zero", zero,
               "End each output line with NUL instead of a newline and escape no name (text and fdupes reports, "
               "hash listings, and the listings hash verifies)")
      ->group("Output");
}

void add_hash_flags(CLI::App& app, Config& config, HashOptions& options) {
  add_choice_option(
      app, "--algo", options.algo,
      {{"xxh128", HashAlgo::xxh128}, {"xxh3", HashAlgo::xxh3}, {"xxh64", HashAlgo::xxh64}, {"xxh32", HashAlgo::xxh32}},
      "Hash function: xxh128 (default; as xxh128sum), xxh3 (64-bit), xxh64 or xxh32, each written as "
      "xxhsum -H2, -H3, -H1 and -H0 write it")
      ->type_name("ALGO")
      ->group("Output");
  app.add_flag("--tag", options.tag, "Write BSD-style lines, 'XXH128 (path) = hash' (xxh3 is always written so)")
      ->group("Output");
  add_choice_option(app, "--order", options.order, {{"path", ListOrder::path}, {"input", ListOrder::input}},
                    "Listing order: path (default: bytewise by path, whatever the thread count) or input (PATHs "
                    "in the order given, each directory's files by path)")
      ->type_name("ORDER")
      ->group("Output");
  add_choice_option(app, "-f,--format", config.format, {{"text", ReportFormat::text}, {"json", ReportFormat::json}},
                    "Listing format: text (default; xxhsum's lines) or json (one object per line: path, size, "
                    "mtime_ns, ctime_ns, device, inode, host, algo, hash)")
      ->type_name("FORMAT")
      ->group("Output");
  CLI::Option* check =
      app.add_flag("-c,--check", options.check,
                   "Verify the listings named as PATHs ('-' or none: standard input) in either text style or JSON "
                   "lines: 'path: OK', 'path: FAILED' or 'path: FAILED open or read'; exit 0 when all match, 1 when a "
                   "file does not match (or no line could be read), 2 when a listed file is missing or unreadable")
          ->group("Input");
  if (CLI::Option* list = app.get_option_no_throw("--files-from")) {
    check->excludes(list);  // the listings are the PATHs
  }
  app.add_flag("--status", options.status, "With --check: print nothing; the exit status says it all")->group("Output");
}

void add_verbosity_flags(CLI::App& app, Config& config) {
  // add_flag_function gets the number of times the flag was given (-vv is two).
  app.add_flag_function(
         "-v,--verbose", [&config](std::int64_t count) { config.verbosity += static_cast<int>(count); },
         "Log more to stderr (repeat for debug output)")
      ->group("Output");
  app.add_flag_callback(
         "-q,--quiet", [&config] { config.verbosity = -1; }, "Log only errors to stderr (and hide the progress line)")
      ->group("Output");
  add_color_flag(app, config);
}

void add_color_flag(CLI::App& app, Config& config) {
  add_choice_option(app, "--color", config.color,
                    {{"auto", ColorMode::auto_detect}, {"always", ColorMode::always}, {"never", ColorMode::never}},
                    "Colour the text report's group headers and the error: and warning: marks on stderr: auto "
                    "(default: only on a terminal, not when TERM=dumb or NO_COLOR is set), always (pipes too) or "
                    "never. A report written with -o FILE is never coloured")
      ->type_name("WHEN")
      ->group("Output");
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
               "CACHE in the man page")
      ->group("Cache");
  app.add_option_function<std::string>(
         "--cache-path",
         [&config](const std::string& path) {
           config.cache = true;
           config.cache_path = path;
         },
         "Use the cache database FILE (created if missing; implies --cache)")
      ->type_name("FILE")
      ->group("Cache");
  app.add_flag_callback(
         "--cache-ignore-ctime",
         [&config] {
           config.cache = true;
           config.cache_ignore_ctime = true;
         },
         std::string(k_cache_ctime_help) + " (implies --cache)")
      ->group("Cache");
}

void add_cache_command_flags(CLI::App& app, Config& config, CacheAction& action) {
  add_choice_option(app, "action", action,
                    {{"stats", CacheAction::stats}, {"prune", CacheAction::prune}, {"clear", CacheAction::clear}},
                    "stats: entries, files, size on disk and path of the cache; prune: delete the entries of files "
                    "that no longer exist or changed (a renamed file's old entry too); clear: delete every entry")
      ->type_name("ACTION")
      ->required()
      ->group("Input");
  app.add_option("--cache-path", config.cache_path,
                 "The cache database (default $XDG_CACHE_HOME/spindle/hashes.sqlite, else "
                 "~/.cache/spindle/hashes.sqlite)")
      ->type_name("FILE")
      ->group("Cache");
  app.add_flag("--cache-ignore-ctime", config.cache_ignore_ctime,
               "prune: keep entries whose file changed only its ctime (as runs with this flag use them)")
      ->group("Cache");
}

void add_devices_flags(CLI::App& app, Config& config, DevicesOptions& options) {
  app.add_option("paths", options.paths,
                 "Show the devices these files and directories live on (default: every mounted filesystem "
                 "with real storage; kernel pseudo filesystems such as proc, sysfs and cgroup are left out)")
      ->type_name("PATH")
      ->group("Input");
  add_choice_option(app, "-f,--format", config.format, {{"text", ReportFormat::text}, {"json", ReportFormat::json}},
                    "Output format: text (default) or json")
      ->type_name("FORMAT")
      ->group("Output");
  CLI::Option* calibrate =
      app.add_flag("--calibrate", options.calibrate,
                   "Measure each device: read a bounded sample of its files (read-only, about 10 s per device) "
                   "with 1, 2, 4, 8, 16 and 32 threads, once with short reads and once with whole-file reads, each "
                   "count 3 times from a cold cache (as root the page cache is dropped: every process's cached "
                   "files are read again from disk afterwards; otherwise the sample's pages are evicted with "
                   "fadvise), print the median throughput of each and its spread, and store the fewest threads "
                   "within 5% of the best of each (as r,s) in $XDG_CONFIG_HOME/spindle/calibration (default "
                   "~/.config/spindle/calibration), which later runs use unless a --threads rule applies to the "
                   "device. Nothing is stored when the counts differ by less than the spread of their runs, or a "
                   "run is too short to time")
          ->group("Threads");
  app.add_flag("--system", options.system,
               "With --calibrate: store the result in /etc/spindle/calibration, which every user's runs read (a "
               "user's own calibration of a device wins over it); needs root")
      ->needs(calibrate)
      ->group("Threads");
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

// --mpi: the process is one rank of `mpirun -n N spindle group --mpi PATH...` (src/mpi).
void add_mpi_flag(CLI::App& app, Config& config) {
  app.add_flag(
         "--mpi", config.mpi,
         "Run as one rank of an MPI job (mpirun -n N spindle group --mpi PATH...): the ranks share the walk "
         "and the hashing, rank 0 writes the report; not with -L, --dirs, --cache, --catalog or overlapping PATHs")
      ->group("Threads");
}

void add_catalog_flags(CLI::App& app, CatalogFlags& options) {
  CLI::Option* catalog =
      app.add_option("--catalog", options.catalogs,
                     "Also compare the files FILE lists: a catalog written by `spindle hash --format json` on this "
                     "or another host ('-' is standard input; repeatable). Their content is not read: a catalog's "
                     "hashes are compared with each other and with those of the PATHs (no PATH: only catalogs). "
                     "With more than one host, paths are written HOST:PATH (json: a \"host\" member), and the "
                     "actions refuse a report naming another host's files")
          ->type_name("FILE")
          ->allow_extra_args(false)
          ->group("Input");
  app.add_option("--tmp-dir", options.tmp_dir,
                 "Where --catalog sorts its records when they do not fit in memory (default: $TMPDIR, else /tmp); "
                 "it needs room for about the catalogs' size")
      ->type_name("DIR")
      ->group("Input");
  // Each of these needs the files' bytes (--paranoid, --dirs) or every group at once; --mpi
  // shares a walk between ranks, not catalogs.
  for (const char* flag :
       {"--paranoid", "--dirs", "--dirs-ignore-names", "--rf-over", "--rf-under", "--unique", "--isolate", "--mpi"}) {
    if (CLI::Option* other = app.get_option_no_throw(flag)) {
      catalog->excludes(other);
    }
  }
}

}  // namespace spindle::cli
