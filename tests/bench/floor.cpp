// The floor of a duplicate finder on a tree (issue 15): what the machine needs to (a) walk and
// stat the tree, as `find DIR -type f -printf '%s\n'` does, and (b) read each candidate once (a
// candidate: a non-empty regular file whose size occurs at least twice; hard links of one inode
// are read once). No hashing, no grouping, no report: nothing a finder could skip. spindle's
// time on the same tree, divided by walk + read here, is how close it is to the machine.
//
//   floor DIR [--threads N] [--runs R] [--prefix BYTES] [--cold]
//
// --prefix BYTES reads at most BYTES of each candidate (4096: the least any finder reads of a
// file whose size has a mate, its first block). --cold drops the page cache, dentries and inodes
// before each run (root), so the walk and the reads meet the device: with --prefix 4096 and as
// many threads as spindle reads with, the cold floor no duplicate finder can go below.
//
// Each part is timed on its own (steady clock), R times (default 5), and the medians printed as
// one line of `key=value` pairs (seconds), for floor.sh to parse. --threads 1 (default) is one
// thread like find; --threads N walks with N threads (a shared stack of directories) and reads
// with N threads (an atomic cursor over the candidates), as spindle uses one thread per CPU.
// Syscalls are the plain ones spindle uses: open(O_DIRECTORY), getdents64, fstatat
// (AT_SYMLINK_NOFOLLOW), then open, read into one buffer per thread, close.
//
// Built by tests/bench/floor.sh (not by CMake: it is a measuring tool, not part of spindle).
#include <climits>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

struct File {
  std::string path;
  std::uint64_t size;
  std::uint64_t dev;
  std::uint64_t ino;
};

// Directories still to read, shared by the walk threads; `busy` counts threads reading one, so
// an empty stack with busy == 0 means the walk is done.
struct DirStack {
  std::mutex mutex;
  std::condition_variable wake;
  std::vector<std::string> dirs;
  int busy = 0;
};

void walk_one(const std::string& dir, DirStack& stack, std::vector<File>& out, std::vector<char>& buffer) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(dir.c_str());
    return;
  }
  std::vector<std::string> subdirs;
  for (;;) {
    const ssize_t got = ::getdents64(fd, buffer.data(), buffer.size());
    if (got <= 0) {
      break;
    }
    for (ssize_t pos = 0; pos < got;) {
      const auto* entry = reinterpret_cast<const struct dirent64*>(buffer.data() + pos);
      pos += entry->d_reclen;
      const char* name = entry->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      std::string path = dir + "/" + name;
      if (entry->d_type == DT_DIR) {  // as find: no stat needed to descend
        subdirs.push_back(std::move(path));
        continue;
      }
      struct stat st {};
      if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        subdirs.push_back(std::move(path));
      } else if (S_ISREG(st.st_mode)) {
        out.push_back(File{std::move(path), static_cast<std::uint64_t>(st.st_size), st.st_dev, st.st_ino});
      }
    }
  }
  ::close(fd);
  std::lock_guard lock(stack.mutex);
  for (std::string& sub : subdirs) {
    stack.dirs.push_back(std::move(sub));
  }
  stack.wake.notify_all();
}

std::vector<File> walk(const std::string& root, int threads) {
  DirStack stack;
  stack.dirs.push_back(root);
  std::vector<std::vector<File>> outs(threads);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::vector<char> buffer(64 * 1024);
      for (;;) {
        std::string dir;
        {
          std::unique_lock lock(stack.mutex);
          stack.wake.wait(lock, [&] { return !stack.dirs.empty() || stack.busy == 0; });
          if (stack.dirs.empty()) {
            return;
          }
          dir = std::move(stack.dirs.back());
          stack.dirs.pop_back();
          ++stack.busy;
        }
        walk_one(dir, stack, outs[t], buffer);
        std::lock_guard lock(stack.mutex);
        --stack.busy;
        stack.wake.notify_all();
      }
    });
  }
  for (std::thread& thread : pool) {
    thread.join();
  }
  std::vector<File> files;
  for (std::vector<File>& out : outs) {
    std::move(out.begin(), out.end(), std::back_inserter(files));
  }
  return files;
}

// Non-empty files whose size occurs at least twice, one per inode.
std::vector<const File*> candidates(const std::vector<File>& files) {
  std::unordered_map<std::uint64_t, std::uint32_t> count;
  for (const File& file : files) {
    ++count[file.size];
  }
  std::vector<const File*> out;
  for (const File& file : files) {
    if (file.size > 0 && count[file.size] >= 2) {
      out.push_back(&file);
    }
  }
  std::sort(out.begin(), out.end(),
            [](const File* a, const File* b) { return std::tie(a->dev, a->ino) < std::tie(b->dev, b->ino); });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const File* a, const File* b) { return a->dev == b->dev && a->ino == b->ino; }),
            out.end());
  return out;
}

std::uint64_t read_all(const std::vector<const File*>& files, int threads, std::size_t limit) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::uint64_t> total{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      std::vector<char> buffer(128 * 1024);
      std::uint64_t bytes = 0;
      for (;;) {
        const std::size_t first = next.fetch_add(64);
        if (first >= files.size()) {
          break;
        }
        const std::size_t last = std::min(files.size(), first + 64);
        for (std::size_t i = first; i < last; ++i) {
          const int fd = ::open(files[i]->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
          if (fd < 0) {
            continue;
          }
          ssize_t n = 0;
          std::size_t left = limit;
          while (left > 0 && (n = ::read(fd, buffer.data(), std::min(buffer.size(), left))) > 0) {
            bytes += static_cast<std::uint64_t>(n);
            left -= static_cast<std::size_t>(n);
          }
          ::close(fd);
        }
      }
      total += bytes;
    });
  }
  for (std::thread& thread : pool) {
    thread.join();
  }
  return total.load();
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root;
  int threads = 1;
  int runs = 5;
  std::size_t limit = SIZE_MAX;
  bool cold = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--prefix" && i + 1 < argc) {
      limit = std::max<std::size_t>(1, std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--cold") {
      cold = true;
    } else if (arg == "-h" || arg == "--help") {
      std::puts(
          "floor DIR [--threads N] [--runs R] [--prefix BYTES] [--cold]: walk+stat time and one-read time "
          "of the candidates");
      return 0;
    } else {
      root = arg;
    }
  }
  if (root.empty()) {
    std::fputs("floor: which directory?\n", stderr);
    return 2;
  }
  std::vector<double> walk_s;
  std::vector<double> read_s;
  std::size_t files = 0;
  std::size_t reads = 0;
  std::uint64_t bytes = 0;
  for (int r = 0; r < runs; ++r) {
    if (cold) {
      ::sync();
      const int drop = ::open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
      if (drop < 0 || ::write(drop, "3", 1) != 1) {
        std::perror("floor: --cold: /proc/sys/vm/drop_caches");
        return 1;
      }
      ::close(drop);
    }
    auto start = std::chrono::steady_clock::now();
    std::vector<File> walked = walk(root, threads);
    walk_s.push_back(seconds_since(start));
    const std::vector<const File*> wanted = candidates(walked);  // not timed: a finder's own work
    start = std::chrono::steady_clock::now();
    bytes = read_all(wanted, threads, limit);
    read_s.push_back(seconds_since(start));
    files = walked.size();
    reads = wanted.size();
  }
  const double walk_median = median(walk_s);
  const double read_median = median(read_s);
  std::printf("threads=%d files=%zu candidates=%zu bytes=%llu walk_s=%.4f read_s=%.4f floor_s=%.4f\n", threads, files,
              reads, static_cast<unsigned long long>(bytes), walk_median, read_median, walk_median + read_median);
  return 0;
}
