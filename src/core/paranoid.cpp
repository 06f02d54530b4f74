// --paranoid: after hashing, each group is checked byte by byte. A group is a "job": its first
// file is the reference, every other distinct inode is compared with it by a task on the pool of
// that file's device, and the last compare to finish splits the job (the same dynamic join as
// the pipeline: no barrier between groups). Files equal to the reference are final; those that
// differ become a job of their own; a reference that failed hands its job to the next file.
#include <spindle/hash.hpp>
#include <spindle/paranoid.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

namespace spindle {

namespace {

using Clock = std::chrono::steady_clock;

enum class Outcome { same, differs, member_failed, reference_failed, cancelled };

struct Compared {
  Outcome outcome = Outcome::same;
  std::optional<FileError> error;
  std::uint64_t bytes = 0;  // read from both files
};

// One group being compared: members in inode order (hard links together), the first the
// reference. outcomes[i] is written by the compare of member i alone (first of its inode).
struct Job {
  std::vector<FileIndex> members;
  Digest hash;
  std::vector<Outcome> outcomes;
  std::atomic<std::uint32_t> pending{0};
};

class Paranoid {
 public:
  explicit Paranoid(const ParanoidContext& context) : m_context(context), m_device_locks(context.pools.size()) {}
  ParanoidResult run(Candidates groups);

 private:
  const FileEntry& entry(FileIndex f) const { return m_context.files[f]; }
  bool same_inode(FileIndex a, FileIndex b) const {
    return entry(a).device() == entry(b).device() && entry(a).ino == entry(b).ino;
  }
  bool one_reader(std::uint32_t pool) const { return m_teams[pool] == 1; }
  void start(std::vector<FileIndex> members, Digest hash);
  void finish(const std::shared_ptr<Job>& job);
  void compare_member(const std::shared_ptr<Job>& job, std::size_t i, Worker& worker);
  Compared compare(FileIndex reference, FileIndex member, Worker& worker);
  void fail(FileError error);

  const ParanoidContext& m_context;
  std::vector<int> m_teams;
  std::vector<std::mutex> m_device_locks;  // one-reader devices: held for a compare that reads them
  std::span<Scope> m_scopes;
  std::atomic<std::uint64_t> m_bytes{0};
  std::mutex m_result_mutex;
  Candidates m_out;
  std::vector<FileError> m_errors;
  std::uint64_t m_files_out = 0;
  std::uint64_t m_groups_out = 0;
};

void Paranoid::fail(FileError error) {
  if (error.errnum == ECANCELED) {
    return;  // an interrupted read is not the file's fault
  }
  m_context.log.file_error(error);
  std::lock_guard lock(m_result_mutex);
  m_errors.push_back(std::move(error));
}

void Paranoid::start(std::vector<FileIndex> members, Digest hash) {
  if (!holds_duplicates(members, m_context.files, m_context.config.hard_links)) {
    return;
  }
  auto job = std::make_shared<Job>();
  job->members = std::move(members);
  job->hash = hash;
  job->outcomes.assign(job->members.size(), Outcome::same);
  std::vector<std::size_t> reads;
  const FileIndex reference = job->members.front();
  for (std::size_t i = 1; i < job->members.size(); ++i) {
    const FileIndex f = job->members[i];
    if (!same_inode(f, reference) && !same_inode(f, job->members[i - 1])) {
      reads.push_back(i);
    }
  }
  if (reads.empty()) {
    finish(job);  // hard links of one inode (--hard-links): equal without a read
    return;
  }
  job->pending.store(static_cast<std::uint32_t>(reads.size()), std::memory_order_relaxed);
  for (std::size_t i : reads) {
    const std::uint32_t pool = m_context.pool_of_file[job->members[i]];
    m_scopes[pool].spawn([this, job, i](Worker& worker) { compare_member(job, i, worker); });
  }
}

void Paranoid::compare_member(const std::shared_ptr<Job>& job, std::size_t i, Worker& worker) {
  if (m_context.cancel.cancelled()) {
    return;  // the job never completes; the run reports nothing
  }
  Compared compared = compare(job->members.front(), job->members[i], worker);
  m_bytes.fetch_add(compared.bytes, std::memory_order_relaxed);
  PoolCounters& counters = m_context.pools.counters(static_cast<std::size_t>(worker.pool_index()));
  counters.files.fetch_add(1, std::memory_order_relaxed);
  counters.bytes_read.fetch_add(compared.bytes, std::memory_order_relaxed);
  if (compared.outcome == Outcome::cancelled) {
    return;
  }
  if (compared.outcome == Outcome::member_failed) {
    fail(std::move(*compared.error));
  }
  job->outcomes[i] = compared.outcome;
  if (compared.outcome == Outcome::reference_failed) {
    // Each compare that hit the reference's failure says so; one of them reports it (below).
    std::lock_guard lock(m_result_mutex);
    if (std::none_of(m_errors.begin(), m_errors.end(),
                     [&](const FileError& e) { return e.path == compared.error->path; })) {
      m_context.log.file_error(*compared.error);
      m_errors.push_back(std::move(*compared.error));
    }
  }
  if (job->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    finish(job);
  }
}

void Paranoid::finish(const std::shared_ptr<Job>& job) {
  const std::vector<FileIndex>& members = job->members;
  // Hard links take the outcome of the first path of their inode.
  std::vector<Outcome> outcomes = job->outcomes;
  for (std::size_t i = 1; i < members.size(); ++i) {
    if (same_inode(members[i], members[0])) {
      outcomes[i] = Outcome::same;
    } else if (same_inode(members[i], members[i - 1])) {
      outcomes[i] = outcomes[i - 1];
    }
  }
  const bool reference_failed = std::count(outcomes.begin(), outcomes.end(), Outcome::reference_failed) > 0;
  std::vector<FileIndex> same;
  std::vector<FileIndex> other;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const bool with_reference = same_inode(members[i], members[0]);
    if (reference_failed) {
      // Nothing was learnt about the others: they are compared again, with the next as reference.
      if (!with_reference && outcomes[i] != Outcome::member_failed) {
        other.push_back(members[i]);
      }
    } else if (outcomes[i] == Outcome::same) {
      same.push_back(members[i]);
    } else if (outcomes[i] == Outcome::differs) {
      other.push_back(members[i]);
    }
  }
  if (holds_duplicates(same, m_context.files, m_context.config.hard_links)) {
    std::lock_guard lock(m_result_mutex);
    m_files_out += same.size();
    ++m_groups_out;
    if (m_context.sink != nullptr) {
      m_context.sink->add(m_context.files, same, job->hash);
    } else {
      m_out.add_group(same, job->hash);
    }
  }
  start(std::move(other), job->hash);
}

Compared Paranoid::compare(FileIndex reference, FileIndex member, Worker& worker) {
  const FileTable& files = m_context.files;
  const std::uint32_t member_pool = m_context.pool_of_file[member];
  const std::uint32_t reference_pool = m_context.pool_of_file[reference];
  // A one-reader device is read by one compare at a time, whichever pool runs it. scoped_lock
  // takes both without an order to deadlock on.
  std::mutex no_lock_a;
  std::mutex no_lock_b;
  std::mutex& lock_a = one_reader(member_pool) ? m_device_locks[member_pool] : no_lock_a;
  std::mutex& lock_b =
      one_reader(reference_pool) && reference_pool != member_pool ? m_device_locks[reference_pool] : no_lock_b;
  std::scoped_lock device_lock(lock_a, lock_b);

  const std::string reference_path = files.path(reference);
  const std::string member_path = files.path(member);
  auto identity = [&](FileIndex f) {
    const FileEntry& e = files[f];
    return FileIdentity{e.device(), e.ino, e.size, e.mtime_ns, e.ctime_ns};
  };
  Compared result;
  auto failed = [&](Outcome outcome, FileError error) {
    result.outcome = error.errnum == ECANCELED ? Outcome::cancelled : outcome;
    result.error = std::move(error);
    return result;
  };
  Result<InputFile> ref =
      InputFile::open(reference_path.c_str(), identity(reference), m_context.descriptors, &m_context.cancel);
  if (!ref.ok()) {
    return failed(Outcome::reference_failed, std::move(ref).error());
  }
  Result<InputFile> mem =
      InputFile::open(member_path.c_str(), identity(member), m_context.descriptors, &m_context.cancel);
  if (!mem.ok()) {
    return failed(Outcome::member_failed, std::move(mem).error());
  }
  ::posix_fadvise(ref->fd(), 0, 0, POSIX_FADV_SEQUENTIAL);
  ::posix_fadvise(mem->fd(), 0, 0, POSIX_FADV_SEQUENTIAL);
  std::span<std::byte> buffer = worker.buffer(2 * k_compare_block);
  std::span<std::byte> a = buffer.first(k_compare_block);
  std::span<std::byte> b = buffer.subspan(k_compare_block, k_compare_block);
  const std::uint64_t size = files[reference].size;
  // Reads exactly `want` bytes at `offset` (fewer: the file shrank, "changed").
  auto read_block = [&](InputFile& file, const std::string& path, std::span<std::byte> into, std::uint64_t offset,
                        std::size_t want) -> std::optional<FileError> {
    std::size_t done = 0;
    while (done < want) {
      ssize_t got = ::pread(file.fd(), into.data() + done, want - done, static_cast<off_t>(offset + done));
      if (got < 0 && errno == EINTR) {
        continue;
      }
      if (got < 0) {
        return FileError{path, errno, "read", ""};
      }
      if (got == 0) {
        return FileError{path, 0, "changed", "file shrank while it was read"};
      }
      done += static_cast<std::size_t>(got);
    }
    return std::nullopt;
  };
  for (std::uint64_t offset = 0; offset < size; offset += k_compare_block) {
    if (m_context.cancel.cancelled()) {
      result.outcome = Outcome::cancelled;
      return result;
    }
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(k_compare_block, size - offset));
    if (std::optional<FileError> error = read_block(*ref, reference_path, a, offset, want)) {
      return failed(Outcome::reference_failed, std::move(*error));
    }
    if (std::optional<FileError> error = read_block(*mem, member_path, b, offset, want)) {
      return failed(Outcome::member_failed, std::move(*error));
    }
    result.bytes += 2 * want;
    if (std::memcmp(a.data(), b.data(), want) != 0) {
      result.outcome = Outcome::differs;
      break;
    }
  }
  // Unchanged since the walk, both of them: otherwise the bytes compared are not the files'.
  std::byte probe[1];
  if (result.outcome == Outcome::same && ::pread(ref->fd(), probe, 1, static_cast<off_t>(size)) > 0) {
    return failed(Outcome::reference_failed, FileError{reference_path, 0, "changed", "file grew while it was read"});
  }
  if (std::optional<FileError> changed = ref->check_unchanged()) {
    return failed(Outcome::reference_failed, std::move(*changed));
  }
  if (result.outcome == Outcome::same && ::pread(mem->fd(), probe, 1, static_cast<off_t>(size)) > 0) {
    return failed(Outcome::member_failed, FileError{member_path, 0, "changed", "file grew while it was read"});
  }
  if (std::optional<FileError> changed = mem->check_unchanged()) {
    return failed(Outcome::member_failed, std::move(*changed));
  }
  return result;
}

ParanoidResult Paranoid::run(Candidates groups) {
  ParanoidResult result;
  const std::size_t pools = m_context.pools.size();
  for (std::size_t p = 0; p < pools; ++p) {
    m_teams.push_back(std::max(1, m_context.sizing[p].large));
  }
  const Clock::time_point began = Clock::now();
  m_context.pools.multi_scope(
      m_context.cancel,
      [&](std::span<Scope> scopes) {
        m_scopes = scopes;
        for (std::size_t g = 0; g < groups.groups(); ++g) {
          std::span<const FileIndex> members = groups.group(g);
          start(std::vector<FileIndex>(members.begin(), members.end()), groups.hashes[g]);
        }
      },
      [&](const std::exception_ptr&) { m_context.log.error("another compare failed too"); }, m_teams);
  result.cancelled = m_context.cancel.cancelled();
  result.stage = StageReport{.name = "paranoid",
                             .files_in = groups.files.size(),
                             .files_out = m_files_out,
                             .groups_out = 0,
                             .bytes_read = m_bytes.load(),
                             .elapsed_ns = static_cast<std::uint64_t>(
                                 std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - began).count()),
                             .pool_threads = m_teams};
  result.stage.groups_out = m_groups_out;
  if (result.cancelled) {
    return result;
  }
  result.groups = std::move(m_out);
  result.errors = std::move(m_errors);
  std::sort(result.errors.begin(), result.errors.end(),
            [](const FileError& a, const FileError& b) { return a.path < b.path; });
  return result;
}

}  // namespace

ParanoidResult compare_groups(Candidates groups, const ParanoidContext& context) {
  Paranoid paranoid(context);
  return paranoid.run(std::move(groups));
}

}  // namespace spindle
