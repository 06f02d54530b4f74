// run_actions: for each group of a report, decide what is kept, check every file against the
// report and against the kept copy, and only then act (action_ops.cpp). The order of checks for
// one duplicate:
//
//   kept copy: open, same inode/size/mtime as recorded, content hash = the group's hash (once)
//   duplicate: open (no symlink), a name of the kept inode? → already done
//              same inode/size/mtime as recorded, same filesystem (link, dedupe)
//              same bytes as the kept copy (byte comparison; dedupe leaves it to the kernel)
//              unchanged during the comparison → act: temporary + rename, or unlink
#include "action_ops.hpp"

#include <spindle/actions.hpp>
#include <spindle/extents.hpp>
#include <spindle/hash.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <vector>

namespace spindle {

namespace {

constexpr std::size_t k_block = 1 << 20;

std::int64_t ns_of(const struct timespec& ts) {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

FileError skipped(const std::string& path, std::string detail) {
  return FileError{path, 0, "skipped", std::move(detail)};
}

// The file as opened against what the report says of it.
std::optional<FileError> check_recorded(const std::string& path, const struct stat& st, const ReportGroup& group,
                                        const std::optional<RecordedState>& state) {
  if (static_cast<std::uint64_t>(st.st_size) != group.size) {
    return FileError{path, 0, "changed",
                     "size is " + std::to_string(st.st_size) + " bytes, the report says " + std::to_string(group.size)};
  }
  if (state) {
    if (static_cast<std::uint64_t>(st.st_dev) != state->device || st.st_ino != state->inode) {
      return FileError{path, 0, "changed", "another file than the report's (inode differs)"};
    }
    if (ns_of(st.st_mtim) != state->mtime_ns) {
      return FileError{path, 0, "changed", "modified since the report (mtime differs)"};
    }
  }
  return std::nullopt;
}

class GroupActor {
 public:
  GroupActor(const ActionOptions& options, const CancelToken& cancel, ActionObserver& observer, ActionSummary& summary,
             TemporaryNames& names, TouchedDirs& touched)
      : m_options(options),
        m_cancel(cancel),
        m_observer(observer),
        m_summary(summary),
        m_names(names),
        m_touched(touched),
        m_buffer_a(k_block),
        m_buffer_b(k_block) {}

  void act(const ReportGroup& group) {
    m_group = &group;
    m_kept.clear();
    std::vector<KeepCandidate> candidates;
    std::vector<std::size_t> report_index;  // candidate → index in group.files
    for (std::size_t i = 0; i < group.files.size(); ++i) {
      const ReportFile& file = group.files[i];
      KeepCandidate candidate;
      candidate.path = file.path;
      candidate.root = file.root;
      if (file.state) {
        candidate.mtime_ns = file.state->mtime_ns;
        candidate.device = file.state->device;
        candidate.inode = file.state->inode;
      } else {
        struct stat st {};
        if (::lstat(file.path.c_str(), &st) != 0) {
          settle_skipped(file.path, {}, FileError{file.path, errno, "stat", ""});
          continue;
        }
        candidate.mtime_ns = ns_of(st.st_mtim);
        candidate.device = st.st_dev;
        candidate.inode = st.st_ino;
      }
      if (!m_options.keep.priority_dirs.empty() || !m_options.keep.originals_dirs.empty()) {
        Result<std::string> absolute = absolute_path(file.path);
        candidate.absolute = absolute ? *absolute : std::string();
      }
      candidates.push_back(std::move(candidate));
      report_index.push_back(i);
    }
    if (candidates.empty()) {
      return;
    }
    const KeepDecision decision = decide_keep(candidates, m_options.keep);
    for (std::size_t c = 0; c < candidates.size() && !m_cancel.cancelled(); ++c) {
      if (decision.roles[c] != KeepRole::duplicate) {
        continue;
      }
      // The kept copy on the duplicate's filesystem when there is one (--keep-count > 1).
      std::size_t kept = decision.kept.front();
      for (std::size_t k : decision.kept) {
        if (candidates[k].device == candidates[c].device) {
          kept = k;
          break;
        }
      }
      act_on(group.files[report_index[c]], group.files[report_index[kept]], report_index[kept]);
    }
  }

 private:
  struct KeptState {
    std::optional<OpenedFile> file;
    std::optional<FileError> error;
  };

  void settle(FileOutcome outcome) {
    outcome.size = m_group->size;
    switch (outcome.outcome) {
      case Outcome::done:
        ++m_summary.files_done;
        m_summary.bytes_reclaimed += outcome.bytes_reclaimed;
        break;
      case Outcome::already_done:
        ++m_summary.already_done;
        break;
      case Outcome::skipped:
        ++m_summary.skipped;
        break;
    }
    m_observer.on_file(outcome);
  }

  void settle_skipped(const std::string& path, const std::string& kept, FileError error) {
    FileOutcome outcome;
    outcome.outcome = Outcome::skipped;
    outcome.path = path;
    outcome.kept = kept;
    outcome.error = std::move(error);
    settle(std::move(outcome));
  }

  // Hash of the whole open file, read from `fd` (a dup of it: InputFile owns what it reads).
  Result<Digest> hash_of(const OpenedFile& file, const std::string& path) {
    const FileIdentity identity{.dev = file.st.st_dev,
                                .ino = file.st.st_ino,
                                .size = static_cast<std::uint64_t>(file.st.st_size),
                                .mtime_ns = ns_of(file.st.st_mtim),
                                .ctime_ns = ns_of(file.st.st_ctim)};
    SPINDLE_TRY_ASSIGN(input, InputFile::adopt(::fcntl(file.fd.get(), F_DUPFD_CLOEXEC, 0), path.c_str(), identity,
                                               nullptr, &m_cancel));
    SPINDLE_TRY_ASSIGN(digest, input.hash_all(identity.size, std::as_writable_bytes(std::span(m_buffer_a)), false));
    m_summary.bytes_verified += identity.size;
    return digest;
  }

  // The kept copy, opened and checked once per group.
  KeptState& kept_state(const ReportFile& kept, std::size_t index) {
    auto [it, inserted] = m_kept.try_emplace(index);
    if (!inserted) {
      return it->second;
    }
    Result<OpenedFile> opened = open_regular(kept.path);
    if (!opened) {
      it->second.error = opened.error();
      return it->second;
    }
    if (std::optional<FileError> error = check_recorded(kept.path, opened->st, *m_group, kept.state)) {
      it->second.error = error;
      return it->second;
    }
    if (m_options.verify) {
      Result<Digest> digest = hash_of(*opened, kept.path);
      if (!digest) {
        it->second.error = digest.error();
        return it->second;
      }
      if (*digest != m_group->hash) {
        it->second.error = FileError{kept.path, 0, "changed", "its content no longer has the report's hash"};
        return it->second;
      }
    }
    it->second.file = std::move(opened).value();
    return it->second;
  }

  // Byte comparison of two open files of `size` bytes; ECANCELED when cancelled.
  Result<bool> same_bytes(int a, int b, std::uint64_t size, const std::string& path) {
    std::uint64_t offset = 0;
    while (offset < size) {
      if (m_cancel.cancelled()) {
        return FileError{path, ECANCELED, "read", ""};
      }
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(k_block, size - offset));
      const ssize_t got_a = ::pread(a, m_buffer_a.data(), want, static_cast<off_t>(offset));
      const ssize_t got_b = ::pread(b, m_buffer_b.data(), want, static_cast<off_t>(offset));
      if (got_a < 0 || got_b < 0) {
        return FileError{path, errno, "read", ""};
      }
      if (got_a != static_cast<ssize_t>(want) || got_b != static_cast<ssize_t>(want)) {
        return FileError{path, 0, "changed", "shorter than recorded while it was compared"};
      }
      if (std::memcmp(m_buffer_a.data(), m_buffer_b.data(), want) != 0) {
        return false;
      }
      offset += want;
    }
    m_summary.bytes_verified += 2 * size;
    return true;
  }

  // A symlink left by an earlier `spindle symlink` run, pointing to the kept file.
  bool already_symlinked(const std::string& path, const OpenedFile& kept) {
    struct stat link {};
    struct stat target {};
    return m_options.kind == ActionKind::symlink && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode) &&
           ::stat(path.c_str(), &target) == 0 && target.st_dev == kept.st.st_dev && target.st_ino == kept.st.st_ino;
  }

  void act_on(const ReportFile& dup, const ReportFile& kept_file, std::size_t kept_index) {
    const std::string& path = dup.path;
    const std::string& kept_path = kept_file.path;
    KeptState& kept = kept_state(kept_file, kept_index);
    if (kept.error && kept.error->errnum == ECANCELED) {
      return;  // interrupted while the kept copy was verified: not a skip to report
    }
    if (kept.error) {
      settle_skipped(path, kept_path, skipped(path, "the kept copy " + kept_path + ": " + kept.error->reason()));
      return;
    }
    FileOutcome outcome;
    outcome.path = path;
    outcome.kept = kept_path;
    if (already_symlinked(path, *kept.file)) {
      outcome.outcome = Outcome::already_done;
      outcome.note = "already a symbolic link to the kept copy";
      settle(std::move(outcome));
      return;
    }
    const bool dedupe_in_place = m_options.kind == ActionKind::dedupe && !m_options.clone;
    Result<OpenedFile> opened = open_regular(path, dedupe_in_place && !m_options.dry_run);
    if (!opened) {
      settle_skipped(path, kept_path, opened.error());
      return;
    }
    const OpenedFile& file = *opened;
    if (file.st.st_dev == kept.file->st.st_dev && file.st.st_ino == kept.file->st.st_ino) {
      outcome.outcome = Outcome::already_done;
      outcome.note = "a hard link of the kept copy (one file: nothing to do)";
      settle(std::move(outcome));
      return;
    }
    if (std::optional<FileError> error = check_recorded(path, file.st, *m_group, dup.state)) {
      settle_skipped(path, kept_path, *error);
      return;
    }
    const bool one_filesystem = m_options.kind == ActionKind::link || m_options.kind == ActionKind::dedupe;
    if (one_filesystem && file.st.st_dev != kept.file->st.st_dev) {
      settle_skipped(path, kept_path,
                     skipped(path, "on another filesystem than the kept copy " + kept_path +
                                       (m_options.kind == ActionKind::link ? " (hard links cannot cross filesystems)"
                                                                           : " (dedupe needs one filesystem)")));
      return;
    }
    if (m_options.kind == ActionKind::dedupe && !m_options.dry_run) {
      Result<bool> shared = extents_shared(kept.file->fd.get(), file.fd.get(), m_group->size, path);
      if (shared && *shared) {
        outcome.outcome = Outcome::already_done;
        outcome.note = "already deduplicated (shares the kept copy's extents)";
        settle(std::move(outcome));
        return;
      }
    }
    // FIDEDUPERANGE compares under lock in the kernel; every other action compares here.
    if (m_options.verify && !dedupe_in_place) {
      Result<bool> same = same_bytes(kept.file->fd.get(), file.fd.get(), m_group->size, path);
      if (!same) {
        if (same.error().errnum == ECANCELED) {
          return;
        }
        settle_skipped(path, kept_path, same.error());
        return;
      }
      if (!*same) {
        settle_skipped(path, kept_path, FileError{path, 0, "changed", "its content differs from " + kept_path});
        return;
      }
      if (std::optional<FileError> changed = check_still(path, file.st)) {
        settle_skipped(path, kept_path, *changed);
        return;
      }
    }
    outcome.mtime_ns = ns_of(file.st.st_mtim);
    outcome.atime_ns = ns_of(file.st.st_atim);
    outcome.uid = file.st.st_uid;
    outcome.gid = file.st.st_gid;
    // Space comes back when the last name of an inode goes.
    outcome.bytes_reclaimed = file.st.st_nlink <= 1 ? m_group->size : 0;
    perform(outcome, *kept.file, file);
  }

  void perform(FileOutcome& outcome, const OpenedFile& kept, const OpenedFile& file) {
    const std::string& path = outcome.path;
    std::optional<FileError> error;
    switch (m_options.kind) {
      case ActionKind::link:
        if (!m_options.dry_run) {
          error = replace_with_hard_link(kept, outcome.kept, file, path, m_names, m_touched);
        }
        break;
      case ActionKind::symlink: {
        Result<std::string> kept_absolute = absolute_path(outcome.kept);
        Result<std::string> link_absolute = absolute_path(path);
        if (!kept_absolute || !link_absolute) {
          error = kept_absolute ? link_absolute.error() : kept_absolute.error();
          break;
        }
        outcome.target = m_options.relative ? relative_target(*link_absolute, *kept_absolute) : *kept_absolute;
        if (!m_options.dry_run) {
          error = replace_with_symlink(outcome.target, file, path, m_names, m_touched);
        }
        break;
      }
      case ActionKind::remove:
        if (!m_options.dry_run) {
          error = remove_duplicate(kept, outcome.kept, file, path, m_touched);
        }
        break;
      case ActionKind::move: {
        Result<std::string> absolute = absolute_path(path);
        if (!absolute) {
          error = absolute.error();
          break;
        }
        outcome.target = move_destination(m_options.move_to, path, *absolute);
        outcome.bytes_reclaimed = m_group->size;
        if (!m_options.dry_run) {
          error = move_duplicate(file, path, outcome.target, m_names, m_touched);
        } else if (struct stat st{}; ::lstat(outcome.target.c_str(), &st) == 0) {
          error = FileError{path, 0, "move", "the destination " + outcome.target + " exists"};
        }
        break;
      }
      case ActionKind::dedupe:
        if (!m_options.dry_run) {
          Result<std::uint64_t> bytes = dedupe_duplicate(kept, file, path, m_options.clone, m_names, m_touched);
          if (bytes) {
            outcome.bytes_reclaimed = *bytes;
          } else {
            error = bytes.error();
          }
        }
        break;
    }
    if (error) {
      settle_skipped(path, outcome.kept, *error);
      return;
    }
    outcome.outcome = Outcome::done;
    settle(std::move(outcome));
  }

  const ActionOptions& m_options;
  const CancelToken& m_cancel;
  ActionObserver& m_observer;
  ActionSummary& m_summary;
  TemporaryNames& m_names;
  TouchedDirs& m_touched;
  std::vector<char> m_buffer_a;
  std::vector<char> m_buffer_b;
  const ReportGroup* m_group = nullptr;
  std::map<std::size_t, KeptState> m_kept;
};

// Every directory an earlier run may have left a temporary in: those of the report's files, and
// for move the destination directories.
std::set<std::string> temporary_dirs(const ParsedReport& report, const ActionOptions& options) {
  std::set<std::string> dirs;
  for (const ReportGroup& group : report.groups) {
    for (const ReportFile& file : group.files) {
      dirs.insert(directory_of(file.path));
      if (options.kind == ActionKind::move) {
        if (Result<std::string> absolute = absolute_path(file.path)) {
          dirs.insert(directory_of(move_destination(options.move_to, file.path, *absolute)));
        }
      }
    }
  }
  return dirs;
}

}  // namespace

ActionSummary run_actions(const ParsedReport& report, const ActionOptions& options, Logger& log,
                          const CancelToken& cancel, ActionObserver& observer) {
  ActionSummary summary;
  if (!options.dry_run) {
    for (const std::string& dir : temporary_dirs(report, options)) {
      summary.temporaries_removed += remove_stale_temporaries(dir);
    }
    if (summary.temporaries_removed > 0) {
      log.info("removed " + std::to_string(summary.temporaries_removed) + " temporaries left by an interrupted run");
    }
  }
  TemporaryNames names;
  TouchedDirs touched;
  GroupActor actor(options, cancel, observer, summary, names, touched);
  for (const ReportGroup& group : report.groups) {
    if (cancel.cancelled()) {
      break;
    }
    ++summary.groups;
    actor.act(group);
  }
  summary.cancelled = cancel.cancelled();
  sync_directories(touched);
  return summary;
}

}  // namespace spindle
