#include "flags.hpp"

#include <spindle/threads_spec.hpp>

#include <map>
#include <string>

namespace spindle::cli {

namespace {

void set_size(std::uint64_t& target, const std::string& text, const char* flag) {
  std::optional<std::uint64_t> bytes = parse_size(text);
  if (!bytes) {
    throw CLI::ValidationError(flag, "'" + text + "' is not a size (examples: 100, 4K, 1.5M, 2G)");
  }
  target = *bytes;
}

}  // namespace

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
  app.add_option_function<std::string>(
         "--min-size", [&config](const std::string& text) { set_size(config.min_size, text, "--min-size"); },
         "Ignore files smaller than SIZE bytes (suffixes K, M, G, T: powers of 1024)")
      ->type_name("SIZE");
  app.add_option_function<std::string>(
         "--max-size",
         [&config](const std::string& text) {
           std::uint64_t bytes = 0;
           set_size(bytes, text, "--max-size");
           config.max_size = bytes;
         },
         "Ignore files larger than SIZE bytes (suffixes K, M, G, T)")
      ->type_name("SIZE");
  app.add_flag("--include-empty", config.include_empty, "Report empty files as duplicates of each other");
  app.add_flag("-H,--hard-links", config.hard_links,
               "Report hard links to one file as duplicates (by default each inode is listed once)");
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
  const std::map<std::string, ReportFormat> formats{{"text", ReportFormat::text},
                                                    {"fdupes", ReportFormat::fdupes},
                                                    {"csv", ReportFormat::csv},
                                                    {"json", ReportFormat::json}};
  app.add_option("-f,--format", config.format,
                 "Report format: text (default), fdupes, csv or json (see FORMATS in the man page)")
      ->type_name("FORMAT")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case).description(""));
  app.add_option("-o,--output", config.output_path,
                 "Write the report to FILE instead of stdout, as a shell redirect would but atomically where "
                 "possible: a regular file (or a symlink's target) is replaced when the report is complete, keeping "
                 "its mode and owner; a hard-linked file is rewritten in place; a device or FIFO is written, never "
                 "replaced. FILE is checked before the walk and left as it was when the run is interrupted or no "
                 "PATH could be read")
      ->type_name("FILE");
  app.add_flag("--stats", config.stats,
               "Print statistics (per stage and per device pool) to stderr, and into the JSON report");
  const std::map<std::string, ProgressMode> modes{
      {"never", ProgressMode::never}, {"auto", ProgressMode::auto_detect}, {"always", ProgressMode::always}};
  app.add_option("--progress", config.progress,
                 "Progress display on stderr: never, auto (default: only when stderr is a terminal) or always")
      ->type_name("WHEN")
      ->transform(CLI::CheckedTransformer(modes, CLI::ignore_case).description(""));
}

void add_verbosity_flags(CLI::App& app, Config& config) {
  // add_flag_function gets the number of times the flag was given (-vv is two).
  app.add_flag_function(
      "-v,--verbose", [&config](std::int64_t count) { config.verbosity += static_cast<int>(count); },
      "Log more to stderr (repeat for debug output)");
  app.add_flag_callback(
      "-q,--quiet", [&config] { config.verbosity = -1; }, "Log only errors to stderr");
}

void add_devices_flags(CLI::App& app, Config& config, DevicesOptions& options) {
  app.add_option("paths", options.paths,
                 "Show the devices these files and directories live on (default: every mounted filesystem "
                 "with real storage; kernel pseudo filesystems such as proc, sysfs and cgroup are left out)")
      ->type_name("PATH");
  const std::map<std::string, ReportFormat> formats{{"text", ReportFormat::text}, {"json", ReportFormat::json}};
  app.add_option("-f,--format", config.format, "Output format: text (default) or json")
      ->type_name("FORMAT")
      ->transform(CLI::CheckedTransformer(formats, CLI::ignore_case).description(""));
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
