#pragma once

#include <spindle/atomic_file.hpp>
#include <spindle/fd.hpp>

#include <sys/types.h>

#include <functional>
#include <optional>
#include <ostream>
#include <string>

namespace spindle {

class CancelToken;

// How an OutputFile puts its content where the user asked.
enum class OutputKind {
  standard_output,  // "" or "-": written to descriptor 1
  replace,          // a regular file (or a new one): an AtomicFile renamed over it on commit
  in_place,         // a regular file that a rename would change in another way: truncated, rewritten
  direct,           // a device, FIFO or other non-file: opened and written, never replaced
};

// A file spindle writes for the user (the report of -o FILE, the calibration store), with the
// semantics of a shell redirect `> FILE`, plus atomicity where it is possible:
// - FILE is resolved as `>` would: symlinks are followed (the symlink stays, its target gets the
//   content); a new FILE is created with mode 0666 minus the umask.
// - A regular file is replaced atomically (AtomicFile) keeping its mode, owner, group and
//   extended attributes (ACLs). When the replacement could not be identical, it is written in
//   place instead, truncated at commit as `>` would: a hard-linked file (every link must see the
//   new content, as with `>`), an owner or group that cannot be given to the new file, a
//   directory that is not writable, a file reached through a /proc magic link (/dev/stdout,
//   /proc/self/fd/N).
// - Anything else (character or block device, FIFO) is written directly, never replaced or
//   truncated. A FIFO is opened without blocking; with no reader yet, commit() waits for one
//   (cancellably). A socket cannot be opened, as with `>`.
// open() does every check and every create up front, before any long work: a bad FILE fails in
// milliseconds. Until commit(), FILE's content is untouched; destroying an OutputFile without
// commit leaves FILE as it was (a temporary is removed).
class OutputFile {
 public:
  struct Options {
    const CancelToken* cancel = nullptr;  // ends waits on a FIFO reader or a full pipe
    bool regular_only = false;            // refuse a FILE that is not a regular file (a config store)
  };

  // Throws Fatal "FILE: <what failed>: <reason>", naming FILE as given, never a temporary.
  static OutputFile open(const std::string& path, const Options& options);
  static OutputFile open(const std::string& path) { return open(path, Options{}); }

  OutputFile(OutputFile&&) noexcept;
  OutputFile& operator=(OutputFile&&) = delete;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();

  OutputKind kind() const { return m_kind; }
  // FILE as given, or "standard output".
  const std::string& name() const { return m_name; }
  // Is the report going to a terminal (standard output or a tty device given as FILE)? Names
  // are then escaped so that none can drive it.
  bool is_terminal() const;
  // True when commit() would change the content of an existing regular file.
  bool replaces_existing() const {
    return m_existing && (m_kind == OutputKind::replace || m_kind == OutputKind::in_place);
  }

  // Write what `fill` produces and put it in place; regular files are fsynced (AtomicFile's
  // rule). Returns false when cancelled first (nothing put in place; a FIFO or device may have
  // received part). Throws Fatal naming FILE when the content cannot be written.
  bool commit(const std::function<void(std::ostream&)>& fill);

 private:
  OutputFile() = default;
  [[noreturn]] void fail(const std::string& what, int errnum) const;
  bool wait_for_reader();

  std::string m_path;  // as given
  std::string m_name;  // for messages
  OutputKind m_kind = OutputKind::standard_output;
  Fd m_fd;                             // in_place and direct: the target (invalid while a FIFO has no reader)
  std::optional<AtomicFile> m_atomic;  // replace
  const CancelToken* m_cancel = nullptr;
  bool m_existing = false;  // FILE held content before this run
  std::string m_created;    // a file open() created through a dangling symlink, removed if not committed
  bool m_committed = false;
};

}  // namespace spindle
