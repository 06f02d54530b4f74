#pragma once

#include <spindle/error.hpp>
#include <spindle/fd.hpp>
#include <spindle/result.hpp>

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

namespace spindle {

// The one way spindle replaces a regular file: the new content goes to a temporary in the same
// directory that nobody else can have named, and appears under the target's name in one rename.
//
// The temporary is exclusive: an unnamed O_TMPFILE where the filesystem has them (nothing to
// hijack, nothing left behind by a crash), else a random name created with
// O_CREAT|O_EXCL|O_NOFOLLOW, so a symlink or file planted at any name (in a shared sticky /tmp,
// say) makes the create fail and another name is drawn; nothing planted is ever followed or
// written.
//
// The fsync rule, the only one in the code base: the data is fsynced before the rename, and the
// directory after it, so after commit() returns the new content is on disk under the target's
// name, and before it the target is exactly the old file.
class AtomicFile {
 public:
  // Draws a temporary's name for a target name; temporary_name_for() unless a test plants
  // files at the names it will draw.
  using NameSource = std::function<std::string(const std::string& name)>;

  // Start a new version of `directory`/`name`; the target itself is not touched. `mode` is the
  // creation mode (the umask and the directory's default ACL apply, as to any new file). Fails
  // with a FileError naming `directory`/`name` (op "create"), never the temporary.
  static Result<AtomicFile> create(const std::string& directory, const std::string& name, mode_t mode,
                                   NameSource names = {});
  // Only the random-name path, even where O_TMPFILE works: the tests of that path use it.
  static Result<AtomicFile> create_named(const std::string& directory, const std::string& name, mode_t mode,
                                         NameSource names = {});

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit(): the temporary vanishes and the target is as it was.
  ~AtomicFile();

  // The temporary, open for writing.
  int fd() const { return m_fd.get(); }
  // `directory`/`name`: what error messages name.
  const std::string& target() const { return m_target; }
  // The temporary's name while it has one (empty for an unnamed O_TMPFILE; for tests).
  const std::string& temporary_name() const { return m_temp_name; }

  // fsync the data, put it under the target's name (replacing what is there), fsync the
  // directory. nullopt on success; else the FileError (op "fsync", "rename"...) and the target
  // is untouched (unless only the directory fsync failed: then the new file is in place).
  std::optional<FileError> commit();

 private:
  AtomicFile(Fd directory, Fd file, std::string name, std::string target, std::string temp_name, bool dir_syncable,
             NameSource names);
  // create() (unnamed_first: O_TMPFILE where the filesystem has it) and create_named().
  static Result<AtomicFile> open_temporary(const std::string& directory, const std::string& name, mode_t mode,
                                           NameSource names, bool unnamed_first);
  std::optional<FileError> link_unnamed();

  Fd m_dir;
  Fd m_fd;
  std::string m_name;       // the target's name inside m_dir
  std::string m_target;     // directory/name, for messages
  std::string m_temp_name;  // empty while the temporary is unnamed
  bool m_dir_syncable = true;
  bool m_committed = false;
  NameSource m_names;
};

// `directory`/`name` ("name" alone for an empty directory, one slash after "/").
std::string join_path(const std::string& directory, const std::string& name);

// A random name for a temporary of `name`: "." + name + ".spindle-" + 12 random letters.
std::string temporary_name_for(const std::string& name);

}  // namespace spindle
