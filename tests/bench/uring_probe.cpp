// Does io_uring pay for small files (issue 15)? Reads every candidate of a tree (a non-empty
// regular file whose size occurs at least twice, one per inode; the same set as floor.cpp) twice
// per run, timed apart: with plain open/read/close syscalls, and with io_uring in batches (a
// batch's opens in one submission, then its reads, then its closes: three io_uring_enter calls
// per batch instead of three syscalls per file). One thread each, so the comparison is the
// syscall path and not the thread count. Prints the medians and the ratio.
//
//   uring_probe DIR [--batch N] [--runs R]
//
// Built by floor.sh --uring (needs liburing-dev); exits 77 if the kernel refuses io_uring.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ftw.h>
#include <liburing.h>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct File {
  std::string path;
  std::uint64_t size;
  std::uint64_t dev;
  std::uint64_t ino;
};

std::vector<File>* g_files = nullptr;  // nftw has no user pointer

int collect(const char* path, const struct stat* st, int type, struct FTW* /*ftw*/) {
  if (type == FTW_F && S_ISREG(st->st_mode)) {
    g_files->push_back(File{path, static_cast<std::uint64_t>(st->st_size), st->st_dev, st->st_ino});
  }
  return 0;
}

std::vector<File> candidates(const char* root) {
  std::vector<File> files;
  g_files = &files;
  nftw(root, collect, 64, FTW_PHYS);
  std::unordered_map<std::uint64_t, int> count;
  for (const File& f : files) {
    ++count[f.size];
  }
  std::vector<File> out;
  for (File& f : files) {
    if (f.size > 0 && count[f.size] >= 2) {
      out.push_back(std::move(f));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const File& a, const File& b) { return a.dev != b.dev ? a.dev < b.dev : a.ino < b.ino; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const File& a, const File& b) { return a.dev == b.dev && a.ino == b.ino; }),
            out.end());
  return out;
}

std::uint64_t read_plain(const std::vector<File>& files, std::vector<char>& buffer) {
  std::uint64_t bytes = 0;
  for (const File& f : files) {
    const int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      continue;
    }
    const ssize_t n = ::read(fd, buffer.data(), std::min<std::size_t>(buffer.size(), f.size));
    bytes += n > 0 ? static_cast<std::uint64_t>(n) : 0;
    ::close(fd);
  }
  return bytes;
}

// Waits for `n` completions; returns their results by user_data (the index in the batch).
void reap(io_uring& ring, unsigned n, std::vector<int>& results) {
  for (unsigned i = 0; i < n; ++i) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0) {
      std::perror("io_uring_wait_cqe");
      std::exit(1);
    }
    results[io_uring_cqe_get_data64(cqe)] = cqe->res;
    io_uring_cqe_seen(&ring, cqe);
  }
}

std::uint64_t read_uring(const std::vector<File>& files, std::size_t batch, io_uring& ring,
                         std::vector<char>& buffers) {
  std::uint64_t bytes = 0;
  std::vector<int> fds(batch);
  std::vector<int> results(batch);
  for (std::size_t first = 0; first < files.size(); first += batch) {
    const std::size_t n = std::min(batch, files.size() - first);
    for (std::size_t i = 0; i < n; ++i) {
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      io_uring_prep_openat(sqe, AT_FDCWD, files[first + i].path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
      io_uring_sqe_set_data64(sqe, i);
    }
    io_uring_submit(&ring);
    reap(ring, n, fds);
    unsigned reads = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (fds[i] >= 0) {
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_read(sqe, fds[i], buffers.data() + i * 4096, std::min<std::uint64_t>(4096, files[first + i].size),
                           0);
        io_uring_sqe_set_data64(sqe, i);
        ++reads;
      }
    }
    io_uring_submit(&ring);
    reap(ring, reads, results);
    unsigned closes = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (fds[i] >= 0) {
        bytes += results[i] > 0 ? static_cast<std::uint64_t>(results[i]) : 0;
        io_uring_sqe* sqe = io_uring_get_sqe(&ring);
        io_uring_prep_close(sqe, fds[i]);
        io_uring_sqe_set_data64(sqe, i);
        ++closes;
      }
    }
    io_uring_submit(&ring);
    reap(ring, closes, results);
  }
  return bytes;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
  const char* root = nullptr;
  std::size_t batch = 256;
  int runs = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      batch = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      root = argv[i];
    }
  }
  if (root == nullptr) {
    std::fputs("uring_probe DIR [--batch N] [--runs R]\n", stderr);
    return 2;
  }
  io_uring ring{};
  if (const int err = io_uring_queue_init(static_cast<unsigned>(batch), &ring, 0); err < 0) {
    std::fprintf(stderr, "uring_probe: io_uring refused: %s\n", std::strerror(-err));
    return 77;
  }
  // Only files of at most one block: the small-file case io_uring is meant for.
  std::vector<File> files = candidates(root);
  files.erase(std::remove_if(files.begin(), files.end(), [](const File& f) { return f.size > 4096; }), files.end());
  std::vector<char> buffer(4096);
  std::vector<char> buffers(batch * 4096);
  std::vector<double> plain;
  std::vector<double> uring;
  std::uint64_t plain_bytes = 0;
  std::uint64_t uring_bytes = 0;
  for (int r = 0; r < runs; ++r) {  // interleaved
    auto t = std::chrono::steady_clock::now();
    plain_bytes = read_plain(files, buffer);
    plain.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
    t = std::chrono::steady_clock::now();
    uring_bytes = read_uring(files, batch, ring, buffers);
    uring.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  io_uring_queue_exit(&ring);
  std::printf("files=%zu batch=%zu plain_s=%.4f uring_s=%.4f uring/plain=%.3f bytes=%llu/%llu\n", files.size(), batch,
              median(plain), median(uring), median(uring) / median(plain), static_cast<unsigned long long>(plain_bytes),
              static_cast<unsigned long long>(uring_bytes));
  return plain_bytes == uring_bytes ? 0 : 1;
}
