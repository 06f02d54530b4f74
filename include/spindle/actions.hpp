#pragma once

#include <spindle/cancel.hpp>
#include <spindle/error.hpp>
#include <spindle/keep_policy.hpp>
#include <spindle/log.hpp>
#include <spindle/report_read.hpp>

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace spindle {

// What `spindle link|symlink|remove|move|dedupe` do to each duplicate of a group.
enum class ActionKind {
  link,     // replace it with a hard link to the kept file (same filesystem only)
  symlink,  // replace it with a symbolic link to the kept file
  remove,   // delete it
  move,     // move it under a directory, keeping its relative path
  dedupe,   // make it share the kept file's extents (FIDEDUPERANGE; FICLONE on request)
};

const char* to_string(ActionKind kind);

struct ActionOptions {
  ActionKind kind = ActionKind::link;
  KeepPolicy keep;
  bool verify = true;     // compare the contents before acting (--no-verify turns it off)
  bool dry_run = false;   // decide and check everything, touch nothing
  bool relative = false;  // symlink: a target relative to the link's directory
  bool clone = false;     // dedupe: FICLONE (the kernel does not compare) instead of FIDEDUPERANGE
  std::string move_to;    // move: the directory to move duplicates under
};

enum class Outcome {
  done,          // acted on (or, with dry_run, would be)
  already_done,  // nothing left to do: a hard link of the kept file, extents already shared...
  skipped,       // not touched; `error` says why
};

// What happened to one duplicate, for the per-file output, the summary and the dry-run script.
struct FileOutcome {
  Outcome outcome = Outcome::skipped;
  std::string path;        // the duplicate
  std::string kept;        // the kept file it is a copy of
  std::string target;      // symlink: the link's text; move: the destination path
  std::uint64_t size = 0;  // the group's file size
  std::uint64_t bytes_reclaimed = 0;
  std::string note;                // already_done: why nothing was left to do
  std::optional<FileError> error;  // skipped: why
  // Attributes the dry-run script restores where the action does (symlink, dedupe --clone).
  std::int64_t mtime_ns = 0;
  std::int64_t atime_ns = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Told of each duplicate as it is settled, in report order, on the calling thread.
class ActionObserver {
 public:
  virtual ~ActionObserver() = default;
  virtual void on_file(const FileOutcome& outcome) = 0;
};

struct ActionSummary {
  std::uint64_t groups = 0;
  std::uint64_t files_done = 0;
  std::uint64_t already_done = 0;
  std::uint64_t skipped = 0;
  std::uint64_t bytes_reclaimed = 0;
  std::uint64_t bytes_verified = 0;       // read to compare contents
  std::uint64_t temporaries_removed = 0;  // left by an interrupted run, removed at the start
  bool cancelled = false;                 // SIGINT/SIGTERM: stopped between two files
};

// Acts on every group of `report`: decides the kept copies (decide_keep), then for each
// duplicate checks that it and its kept file are still what the report recorded (inode, size,
// mtime with a JSON report; size always) and, with `verify`, that their bytes are the same, and
// only then acts. Replacement is atomic: the new name is made under a temporary name
// (".spindle-tmp.<pid>.<random>") in the same directory and renamed over the duplicate, so the
// path is never missing; temporaries an interrupted run left (their process is gone) are removed
// first. Every file-level failure is a skipped outcome with a FileError; nothing is printed.
ActionSummary run_actions(const ParsedReport& report, const ActionOptions& options, Logger& log,
                          const CancelToken& cancel, ActionObserver& observer);

// True for a name spindle gives its temporaries (".spindle-tmp.<pid>.<hex>"); sets `pid`.
bool parse_temporary_name(const std::string& name, pid_t& pid);

// The path made absolute through its directory (realpath of the directory, then the name), so
// symlinks in the directories are resolved but the file itself is not. A FileError when the
// directory cannot be resolved.
Result<std::string> absolute_path(const std::string& path);

// Where `move --to DIR` puts `path`: DIR/path for a relative path (leading "./" dropped),
// DIR/<absolute path> for an absolute one or one with ".." (made absolute with `absolute`).
std::string move_destination(const std::string& dir, const std::string& path, const std::string& absolute);

// The text of a relative symlink at `link` (absolute) pointing to `target` (absolute).
std::string relative_target(const std::string& link, const std::string& target);

// The lines of the dry-run shell script for one outcome (done only; empty otherwise); each path
// single-quoted (shell_quote), so any bytes but NUL survive.
std::string script_lines(const FileOutcome& outcome, const ActionOptions& options);
// 'text' with each ' written as '\'' : the shell gives back exactly `text`.
std::string shell_quote(const std::string& text);

}  // namespace spindle
