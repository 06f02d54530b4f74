// `spindle link|symlink|remove|move|dedupe REPORT`: act on the duplicates of a group report.
// Per-file lines go to stdout (or, with --dry-run, the shell script); skips, the summary and
// --stats to stderr.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "output.hpp"

#include <spindle/actions.hpp>
#include <spindle/progress.hpp>
#include <spindle/report_read.hpp>
#include <spindle/units.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

namespace spindle::cli {

namespace {

const char* past_tense(ActionKind kind) {
  switch (kind) {
    case ActionKind::link:
      return "linked";
    case ActionKind::symlink:
      return "symlinked";
    case ActionKind::remove:
      return "removed";
    case ActionKind::move:
      return "moved";
    case ActionKind::dedupe:
      return "deduplicated";
  }
  return "?";
}

// The report's bytes, or nullopt after a message (exit 2).
std::optional<std::string> read_report(const std::string& path, Logger& log, std::string& name) {
  const bool from_stdin = path.empty() || path == "-";
  name = from_stdin ? "<stdin>" : path;
  if (from_stdin && ::isatty(STDIN_FILENO) == 1) {
    log.error("no report: name a file written by `spindle group -f json -o FILE`, or pipe one in");
    return std::nullopt;
  }
  Fd fd(from_stdin ? ::dup(STDIN_FILENO) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    log.file_error(FileError{name, errno, "open", "cannot read the report"});
    return std::nullopt;
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      log.file_error(FileError{name, errno, "read", "cannot read the report"});
      return std::nullopt;
    }
    if (got == 0) {
      return text;
    }
    text.append(buffer, static_cast<std::size_t>(got));
  }
}

// Why a skip happened, in a few words, for the summary.
std::string skip_kind(const FileError& error) {
  if (error.detail.starts_with("on another filesystem")) {
    return "on another filesystem";
  }
  if (error.detail.starts_with("the kept copy")) {
    return "kept copy changed or unreadable";
  }
  if (error.op == "changed" || error.op == "vanished") {
    return "changed since the report";
  }
  if (error.errnum == EOPNOTSUPP || error.errnum == ENOTTY || error.errnum == EINVAL) {
    return "not supported by the filesystem";
  }
  return error.op + " failed";
}

class Printer : public ActionObserver {
 public:
  Printer(const ActionOptions& options, Logger& log, bool quiet, Progress& progress)
      : m_options(options), m_log(log), m_quiet(quiet), m_progress(progress) {}

  void on_file(const FileOutcome& outcome) override {
    m_progress.add(1, outcome.size);
    if (outcome.outcome == Outcome::skipped) {
      m_log.file_error(*outcome.error);
      ++m_skips[skip_kind(*outcome.error)];
      return;
    }
    if (m_options.dry_run) {
      print(script_lines(outcome, m_options));
      return;
    }
    if (m_quiet) {
      return;
    }
    const std::string path = escape_for_terminal(outcome.path);
    const std::string kept = escape_for_terminal(outcome.kept);
    std::string line;
    if (outcome.outcome == Outcome::already_done) {
      line = "unchanged " + path + ": " + outcome.note + " (" + kept + ")\n";
    } else if (m_options.kind == ActionKind::symlink || m_options.kind == ActionKind::move) {
      line = std::string(past_tense(m_options.kind)) + " " + path + " -> " + escape_for_terminal(outcome.target) + "\n";
    } else {
      line = std::string(past_tense(m_options.kind)) + " " + path + " (copy of " + kept + ")\n";
    }
    print(line);
  }

  const std::map<std::string, std::uint64_t>& skips() const { return m_skips; }

 private:
  void print(const std::string& text) {
    m_log.clear_status();
    std::fwrite(text.data(), 1, text.size(), stdout);
  }

  const ActionOptions& m_options;
  Logger& m_log;
  bool m_quiet;
  Progress& m_progress;
  std::map<std::string, std::uint64_t> m_skips;
};

std::string summary_line(const ActionOptions& options, const ActionSummary& summary,
                         const std::map<std::string, std::uint64_t>& skips) {
  const char* verb = options.dry_run ? "would be " : "";
  std::string text = "spindle " + std::string(to_string(options.kind)) + ": " + std::to_string(summary.files_done) +
                     (summary.files_done == 1 ? " file " : " files ") + verb + past_tense(options.kind);
  text += ", " + human_size(summary.bytes_reclaimed) + (options.kind == ActionKind::move ? " moved" : " reclaimed");
  text +=
      "; " + std::to_string(summary.already_done) + " already done; " + std::to_string(summary.skipped) + " skipped";
  if (!skips.empty()) {
    text += " (";
    bool first = true;
    for (const auto& [kind, count] : skips) {
      text += (first ? "" : ", ") + std::to_string(count) + " " + kind;
      first = false;
    }
    text += ")";
  }
  return text + "\n";
}

std::string stats_text(const ActionSummary& summary, std::chrono::steady_clock::duration elapsed) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  return "groups: " + std::to_string(summary.groups) + "\nfiles acted on: " + std::to_string(summary.files_done) +
         "\nalready done: " + std::to_string(summary.already_done) + "\nskipped: " + std::to_string(summary.skipped) +
         "\nbytes reclaimed: " + std::to_string(summary.bytes_reclaimed) +
         "\nbytes read to verify: " + std::to_string(summary.bytes_verified) +
         "\ntemporaries removed: " + std::to_string(summary.temporaries_removed) + "\nelapsed: " + std::to_string(ms) +
         " ms\n";
}

int run(Context& context, ActionCommandOptions& options) {
  const Config& config = context.config;
  Logger log = make_logger(config);
  const auto start = std::chrono::steady_clock::now();
  ActionOptions& action = options.action;
  std::string name;
  std::optional<std::string> text = read_report(options.report, log, name);
  if (!text) {
    return k_exit_usage;
  }
  ParsedReport report;
  try {
    report = parse_report(*text, name);
  } catch (const ReportError& e) {
    log.error(escape_for_terminal(e.what()) + " (nothing was touched)");
    return k_exit_usage;
  }
  if (action.kind == ActionKind::move) {
    Result<std::string> to = absolute_path(action.move_to);
    struct stat st {};
    if (!to || ::stat(to->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      log.error("--to " + escape_for_terminal(action.move_to) + ": not a directory (create it first)");
      return k_exit_usage;
    }
    action.move_to = *to;
  }
  for (std::vector<std::string>* dirs : {&action.keep.priority_dirs, &action.keep.originals_dirs}) {
    for (std::string& dir : *dirs) {
      Result<std::string> absolute = absolute_path(dir);
      if (!absolute) {
        log.error(escape_for_terminal(dir) + ": " + absolute.error().reason() + " (a directory is expected)");
        return k_exit_usage;
      }
      dir = *absolute;
    }
  }
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
  for (const ReportGroup& group : report.groups) {
    files += group.files.size() - 1;
    bytes += group.size * (group.files.size() - 1);
  }
  if (action.dry_run) {
    std::string header = "#!/bin/sh\n# spindle " + std::string(to_string(action.kind)) +
                         " --dry-run: what it would do, for review; `sh FILE` does it (without its checks).\n";
    std::fwrite(header.data(), 1, header.size(), stdout);
  }
  ActionSummary summary;
  std::map<std::string, std::uint64_t> skips;
  {
    Progress progress(log, progress_enabled(config.progress));
    progress.begin_stage(to_string(action.kind), files, bytes);
    Printer printer(action, log, config.verbosity < 0, progress);
    summary = run_actions(report, action, log, context.cancel, printer);
    skips = printer.skips();
  }
  std::fflush(stdout);
  if (config.verbosity >= 0 || summary.skipped > 0) {
    log.write_raw(summary_line(action, summary, skips));
  }
  if (config.stats) {
    log.write_raw(stats_text(summary, std::chrono::steady_clock::now() - start));
  }
  if (summary.cancelled) {
    log.error("interrupted: the files listed above were done; the others are as they were");
    return k_exit_interrupted;
  }
  return summary.skipped > 0 ? k_exit_file_errors : k_exit_ok;
}

Command register_action(CLI::App& root, Context& context, ActionKind kind, const char* description) {
  CLI::App* app = root.add_subcommand(to_string(kind), description);
  auto options = std::make_shared<ActionCommandOptions>();
  add_action_flags(*app, context.config, *options, kind);
  return {app, [&context, options] { return run(context, *options); }};
}

}  // namespace

std::vector<Command> register_actions(CLI::App& root, Context& context) {
  return {
      register_action(root, context, ActionKind::link, "Replace a report's duplicates with hard links"),
      register_action(root, context, ActionKind::symlink, "Replace a report's duplicates with symlinks"),
      register_action(root, context, ActionKind::remove, "Delete the duplicates listed in a group report"),
      register_action(root, context, ActionKind::move, "Move a report's duplicates under a directory"),
      register_action(root, context, ActionKind::dedupe, "Share the kept copy's extents (btrfs, XFS)"),
  };
}

}  // namespace spindle::cli
