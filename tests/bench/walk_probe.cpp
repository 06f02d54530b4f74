// Does the walk gain from statx with only the fields it needs, or from another getdents64 buffer
// size (issue 15, "ways that may get there")? Walks DIR on one thread, warm, each variant once per
// round, rounds interleaved, and prints the median time of each variant:
//   - fstatat(AT_SYMLINK_NOFOLLOW) of every entry (what spindle's walk calls), getdents64 into a
//     64 KiB buffer (spindle's size);
//   - statx(AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC) asking only for type, size, inode, mtime,
//     ctime and nlink, same buffer;
//   - fstatat with getdents64 buffers of 4 KiB, 32 KiB, 256 KiB and 1 MiB.
// Every variant must count the same files and bytes (checked). Built and run by hand:
//   c++ -O2 -std=c++20 -o /tmp/walk_probe tests/bench/walk_probe.cpp && /tmp/walk_probe DIR [ROUNDS]
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct LinuxDirent64 {
  std::uint64_t d_ino;
  std::int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[1];
};

struct Totals {
  std::uint64_t files = 0;
  std::uint64_t bytes = 0;
};

bool dot_or_dotdot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

void walk(const std::string& dir, bool use_statx, std::vector<char>& buffer, Totals& totals) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return;
  }
  std::vector<std::string> subdirs;
  for (;;) {
    const long got = ::syscall(SYS_getdents64, fd, buffer.data(), buffer.size());
    if (got <= 0) {
      break;
    }
    for (long at = 0; at < got;) {
      const auto* entry = reinterpret_cast<const LinuxDirent64*>(buffer.data() + at);
      at += entry->d_reclen;
      const char* name = entry->d_name;
      if (dot_or_dotdot(name)) {
        continue;
      }
      if (entry->d_type == DT_DIR) {
        subdirs.push_back(dir + "/" + name);
        continue;
      }
      if (use_statx) {
        struct statx stx {};
        const unsigned mask = STATX_TYPE | STATX_SIZE | STATX_INO | STATX_MTIME | STATX_CTIME | STATX_NLINK;
        if (::statx(fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, mask, &stx) == 0 && S_ISREG(stx.stx_mode)) {
          ++totals.files;
          totals.bytes += stx.stx_size;
        }
      } else {
        struct stat st {};
        if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
          ++totals.files;
          totals.bytes += static_cast<std::uint64_t>(st.st_size);
        }
      }
    }
  }
  ::close(fd);
  for (const std::string& sub : subdirs) {
    walk(sub, use_statx, buffer, totals);
  }
}

struct Variant {
  const char* name;
  bool use_statx;
  std::size_t buffer;
  std::vector<double> seconds;
  Totals totals;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs("walk_probe DIR [ROUNDS]\n", stderr);
    return 2;
  }
  const std::string root = argv[1];
  const int rounds = argc > 2 ? std::max(1, std::atoi(argv[2])) : 7;
  std::vector<Variant> variants = {
      {"fstatat, 64 KiB getdents64 (spindle)", false, 64 * 1024, {}, {}},
      {"statx (6 fields, DONT_SYNC), 64 KiB", true, 64 * 1024, {}, {}},
      {"fstatat, 4 KiB getdents64", false, 4 * 1024, {}, {}},
      {"fstatat, 32 KiB getdents64", false, 32 * 1024, {}, {}},
      {"fstatat, 256 KiB getdents64", false, 256 * 1024, {}, {}},
      {"fstatat, 1 MiB getdents64", false, 1024 * 1024, {}, {}},
  };
  for (int r = 0; r <= rounds; ++r) {  // round 0 warms the caches and is not counted
    for (Variant& v : variants) {
      std::vector<char> buffer(v.buffer);
      Totals totals;
      const auto start = std::chrono::steady_clock::now();
      walk(root, v.use_statx, buffer, totals);
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (r > 0) {
        v.seconds.push_back(s);
      }
      v.totals = totals;
    }
  }
  const Totals& reference = variants.front().totals;
  const double base = [&] {
    std::vector<double> s = variants.front().seconds;
    std::sort(s.begin(), s.end());
    return s[s.size() / 2];
  }();
  std::printf("%s: %llu files, %llu bytes; median of %d rounds, one thread, warm\n", root.c_str(),
              static_cast<unsigned long long>(reference.files), static_cast<unsigned long long>(reference.bytes),
              rounds);
  int status = 0;
  for (Variant& v : variants) {
    std::sort(v.seconds.begin(), v.seconds.end());
    const double median = v.seconds[v.seconds.size() / 2];
    std::printf("%-40s %8.4f s  %5.3fx\n", v.name, median, median / base);
    if (v.totals.files != reference.files || v.totals.bytes != reference.bytes) {
      std::printf("  counted %llu files, %llu bytes: not the same tree\n",
                  static_cast<unsigned long long>(v.totals.files), static_cast<unsigned long long>(v.totals.bytes));
      status = 1;
    }
  }
  return status;
}
