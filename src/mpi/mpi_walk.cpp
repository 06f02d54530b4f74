#include "mpi_walk.hpp"

#include "../core/walk_roots.hpp"

#include <spindle/walk.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <set>
#include <utility>

namespace spindle::mpi {

namespace {

constexpr int k_tag_work = 101;  // rank 0 -> a rank: directories to list (empty: the walk is over)
constexpr int k_tag_done = 102;  // a rank -> rank 0: the subdirectories found (first one: ready)
// Most directories in one batch: enough that a wide tree costs few messages, few enough that the
// last batches still spread over the ranks.
constexpr std::size_t k_max_batch = 64;
constexpr std::uint32_t k_symlink_bit = 1u << 31;

// A directory to list, under PATH `root` of config.paths.
struct Task {
  std::uint32_t root = 0;
  std::string path;
};

// A subdirectory found: a task, and its identity so rank 0 lists it once (a bind mount can show
// one directory at two paths, or inside itself). ino 0: unknown (stat failed; its listing says why).
struct Found {
  Task task;
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
};

std::string pack_tasks(const std::vector<Task>& tasks) {
  Packer out;
  for (const Task& task : tasks) {
    out.u32(task.root);
    out.str(task.path);
  }
  return std::move(out.bytes());
}

std::vector<Task> unpack_tasks(std::string_view bytes) {
  std::vector<Task> tasks;
  for (Unpacker in(bytes); !in.done();) {
    const std::uint32_t root = in.u32();
    tasks.push_back({root, std::string(in.str())});
  }
  return tasks;
}

std::string pack_found(const std::vector<Found>& found) {
  Packer out;
  for (const Found& dir : found) {
    out.u32(dir.task.root);
    out.u64(dir.dev);
    out.u64(dir.ino);
    out.str(dir.task.path);
  }
  return std::move(out.bytes());
}

std::vector<Found> unpack_found(std::string_view bytes) {
  std::vector<Found> found;
  for (Unpacker in(bytes); !in.done();) {
    Found dir;
    dir.task.root = in.u32();
    dir.dev = in.u64();
    dir.ino = in.u64();
    dir.task.path = std::string(in.str());
    found.push_back(std::move(dir));
  }
  return found;
}

// One rank's part of the walk: lists batches and keeps what they found.
class Lister {
 public:
  Lister(const Config& config, Logger& log, const CancelToken& cancel, std::span<const Mount> mounts, int ranks)
      : m_config(config), m_log(log), m_cancel(cancel), m_mounts(mounts), m_kernel_devs(kernel_interface_devs(mounts)) {
    m_walk.outboxes.resize(static_cast<std::size_t>(ranks));
  }

  // Lists the batch's directories (and file PATHs) one level deep: their files go to the
  // outboxes, their subdirectories are returned.
  std::vector<Found> list(const std::vector<Task>& batch) {
    Config part = m_config;
    part.paths.clear();
    for (const Task& task : batch) {
      part.paths.push_back(task.path);
    }
    std::mutex found_mutex;
    std::vector<Found> found;
    WalkBudget budget;
    budget.hand_off = [&](const WalkBudget::HandOff& dir) {
      struct stat st {};
      Found sub{{batch[dir.root].root, dir.path}, 0, 0};
      if (::fstatat(dir.parent_fd, dir.name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) == 0) {
        // As the single-node walk does on entering it: a kernel interface mounted inside the
        // tree is not walked (a PATH inside one is).
        if (static_cast<std::uint64_t>(st.st_dev) != dir.parent_dev &&
            std::binary_search(m_kernel_devs.begin(), m_kernel_devs.end(), static_cast<std::uint64_t>(st.st_dev))) {
          m_log.info(escape_for_terminal(dir.path) + ": a kernel interface filesystem (name it to walk it), skipped");
          return;
        }
        sub.dev = static_cast<std::uint64_t>(st.st_dev);
        sub.ino = static_cast<std::uint64_t>(st.st_ino);
      }
      const std::lock_guard lock(found_mutex);
      found.push_back(std::move(sub));
    };
    WalkResult listed = walk(part, m_log, m_cancel, m_mounts, nullptr, &budget);
    const int ranks = static_cast<int>(m_walk.outboxes.size());
    std::vector<Packer> packers(m_walk.outboxes.size());
    for (FileIndex f = 0; f < listed.files.size(); ++f) {
      FileEntry entry = listed.files[f];
      entry.root = batch[entry.root].root;
      Packer& out = packers[static_cast<std::size_t>(owner_of(entry.size, ranks))];
      pack_file(out, entry, listed.files.path(f));
    }
    for (std::size_t r = 0; r < packers.size(); ++r) {
      m_walk.outboxes[r] += packers[r].bytes();
    }
    m_walk.files += listed.files.size();
    m_walk.directories += listed.directories;
    m_walk.skipped_special += listed.skipped_special;
    m_walk.skipped_unreliable += listed.skipped_unreliable;
    std::move(listed.errors.begin(), listed.errors.end(), std::back_inserter(m_walk.errors));
    return found;
  }

  RankWalk take() { return std::move(m_walk); }

 private:
  const Config& m_config;
  Logger& m_log;
  const CancelToken& m_cancel;
  std::span<const Mount> m_mounts;
  std::vector<std::uint64_t> m_kernel_devs;
  RankWalk m_walk;
};

// Rank 0: the directories still to list, each once, handed out to the ranks that ask.
class Coordinator {
 public:
  Coordinator(const Config& config, int ranks) : m_ranks(ranks), m_busy(static_cast<std::size_t>(ranks), false) {
    const std::vector<Root> roots = resolve_roots(config.paths);
    for (const Root& root : roots) {
      if (root.kind == Root::Kind::duplicate) {
        continue;
      }
      if (root.kind == Root::Kind::directory) {
        m_seen.insert({root.dir.dev, root.dir.ino});
      }
      m_queue.push_back({root.index, config.paths[root.index]});
    }
  }

  // The next batch: an even share of the queue for the ranks that list, within k_max_batch.
  std::vector<Task> take(std::size_t listers) {
    const std::size_t count = std::clamp<std::size_t>(m_queue.size() / (2 * listers), 1, k_max_batch);
    std::vector<Task> batch;
    for (std::size_t i = 0; i < count && !m_queue.empty(); ++i) {
      batch.push_back(std::move(m_queue.front()));
      m_queue.pop_front();
    }
    return batch;
  }

  void absorb(std::vector<Found> found) {
    for (Found& dir : found) {
      if (dir.ino == 0 || m_seen.insert({dir.dev, dir.ino}).second) {
        m_queue.push_back(std::move(dir.task));
      }
    }
  }

  // Alone: lists everything itself.
  void run_alone(Lister& lister, const CancelToken& cancel) {
    while (!m_queue.empty() && !cancel.cancelled()) {
      absorb(lister.list(take(1)));
    }
  }

  // With other ranks: hands out batches until none is left and every rank is idle.
  void run(const CancelToken& cancel) {
    const std::size_t listers = static_cast<std::size_t>(m_ranks - 1);
    std::vector<int> idle;
    std::size_t ready = 0;
    std::size_t busy = 0;
    for (;;) {
      if (cancel.cancelled()) {
        m_queue.clear();
      }
      while (!idle.empty() && !m_queue.empty()) {
        const int rank = idle.back();
        idle.pop_back();
        send_small(rank, k_tag_work, pack_tasks(take(listers)));
        m_busy[static_cast<std::size_t>(rank)] = true;
        ++busy;
      }
      if (busy == 0 && ready == listers && m_queue.empty()) {
        break;
      }
      int rank = 0;
      const std::string answer = receive_any(k_tag_done, rank);
      if (m_busy[static_cast<std::size_t>(rank)]) {
        m_busy[static_cast<std::size_t>(rank)] = false;
        --busy;
      } else {
        ++ready;
      }
      absorb(unpack_found(answer));
      idle.push_back(rank);
    }
    for (int rank = 1; rank < m_ranks; ++rank) {
      send_small(rank, k_tag_work, {});
    }
  }

 private:
  int m_ranks;
  std::deque<Task> m_queue;
  std::set<std::pair<std::uint64_t, std::uint64_t>> m_seen;
  std::vector<bool> m_busy;
};

std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

int owner_of(std::uint64_t size, int ranks) {
  return static_cast<int>(mix(size) % static_cast<std::uint64_t>(ranks));
}

void pack_file(Packer& out, const FileEntry& entry, std::string_view path) {
  out.u64(entry.size);
  out.u64(entry.ino);
  out.u64(static_cast<std::uint64_t>(entry.mtime_ns));
  out.u64(static_cast<std::uint64_t>(entry.ctime_ns));
  out.u64(static_cast<std::uint64_t>(entry.device()));
  out.u32(static_cast<std::uint32_t>(entry.root) | (entry.via_symlink != 0 ? k_symlink_bit : 0));
  out.str(path);
}

void unpack_files(std::string_view bytes, FileTable& table) {
  for (Unpacker in(bytes); !in.done();) {
    FileEntry entry;
    entry.size = in.u64();
    entry.ino = in.u64();
    entry.mtime_ns = static_cast<std::int64_t>(in.u64());
    entry.ctime_ns = static_cast<std::int64_t>(in.u64());
    entry.set_device(static_cast<dev_t>(in.u64()));
    const std::uint32_t root = in.u32();
    entry.root = root & ~k_symlink_bit;
    entry.via_symlink = (root & k_symlink_bit) != 0 ? 1 : 0;
    table.add(entry, in.str());
  }
}

std::optional<std::string> mpi_refusal(const Config& config) {
  if (config.follow_links) {
    return "--mpi cannot follow symbolic links (-L): the ranks share directories, not the links that led to them";
  }
  if (config.dirs) {
    return "--mpi cannot compare directories (--dirs): no rank sees every file of a directory";
  }
  if (config.cache) {
    return "--mpi does not use the hash cache (--cache): one SQLite file is not shared safely by many nodes";
  }
  if (config.paths.size() > std::size_t{FileEntry::k_max_root} + 1) {
    return "--mpi takes at most " + std::to_string(FileEntry::k_max_root + 1) + " PATHs";
  }
  const std::vector<Root> roots = resolve_roots(config.paths);
  std::vector<std::uint32_t> remaining;
  for (const Root& root : roots) {
    if (root.kind == Root::Kind::duplicate) {
      return escape_for_terminal(config.paths[root.index]) + ": --mpi: named twice (give each PATH once)";
    }
    if (!root.error) {
      remaining.push_back(root.index);
    }
  }
  const std::vector<std::uint32_t> alone = walked_alone(roots, remaining);
  for (std::uint32_t index : remaining) {
    if (!std::binary_search(alone.begin(), alone.end(), index)) {
      return escape_for_terminal(config.paths[index]) +
             ": --mpi: inside another PATH given before it (give PATHs that do not overlap)";
    }
  }
  return std::nullopt;
}

RankWalk walk_shared(const Config& config, Logger& log, const CancelToken& cancel, std::span<const Mount> mounts,
                     const Session& session) {
  Lister lister(config, log, cancel, mounts, session.size());
  if (session.size() == 1) {
    Coordinator coordinator(config, 1);
    coordinator.run_alone(lister, cancel);
  } else if (session.root()) {
    Coordinator coordinator(config, session.size());
    coordinator.run(cancel);
  } else {
    send_small(0, k_tag_done, {});  // ready
    for (;;) {
      int source = 0;
      const std::string batch = receive_any(k_tag_work, source);
      if (batch.empty()) {
        break;
      }
      send_small(0, k_tag_done, pack_found(lister.list(unpack_tasks(batch))));
    }
  }
  return lister.take();
}

}  // namespace spindle::mpi
