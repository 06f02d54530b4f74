#pragma once

#include "temp_tree.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <spawn.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

extern char** environ;  // NOLINT: POSIX declares it nowhere in a header

namespace spindle::fakes {

// The full path of program `name` on PATH or in the sbin directories (a root shell's PATH may
// lack them); empty when it is nowhere.
inline std::string find_program(const std::string& name) {
  std::string dirs = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
  dirs += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::string::size_type start = 0;
  while (start <= dirs.size()) {
    std::string::size_type colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (!dir.empty()) {
      std::string candidate = dir + "/" + name;
      if (::access(candidate.c_str(), X_OK) == 0) {
        return candidate;
      }
    }
    if (colon == std::string::npos) {
      break;
    }
    start = colon + 1;
  }
  return {};
}

struct CommandResult {
  int status = -1;     // exit status; -1 when it could not run or died of a signal
  std::string output;  // stdout and stderr together, for failure messages
};

// Run `argv` (argv[0] a full path) without a shell, stdin from /dev/null, and wait for it.
inline CommandResult run_command(const std::vector<std::string>& argv) {
  CommandResult result;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    result.output = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    result.output = argv[0] + ": " + std::strerror(spawned);
    return result;
  }
  char chunk[4096];
  for (;;) {
    ssize_t got = ::read(pipe_fds[0], chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got <= 0) {
      break;
    }
    result.output.append(chunk, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

enum class LoopFsKind { btrfs, xfs };

inline const char* kind_name(LoopFsKind kind) {
  return kind == LoopFsKind::btrfs ? "btrfs" : "xfs";
}

// A fresh filesystem of `kind` on a loop device, mounted in a temp dir, for tests of what only a
// real filesystem does (extent sharing, FIEMAP). Everything it creates is undone by the
// destructor, also when the test fails or throws: the mount, the loop device, the image and the
// directories. Each instance has its own image, loop device and mount point, so tests may run in
// parallel processes.
//
// Root and mkfs.<kind> are needed; when they are missing, or no loop device can be had (a
// container without /dev/loop-control), or the kernel cannot mount the filesystem, `available()`
// is false and `why_not()` says why, for GTEST_SKIP() << fs.why_not(). A failure after that
// point (mkfs on a plain file) throws std::runtime_error: the machine can do it, so it is a bug.
//
// No leak even if the test process is killed: the loop device is set to clear itself
// (LO_FLAGS_AUTOCLEAR) when its last user goes, and that is the mount once the constructor returns.
// A mount left by a killed process is found with `findmnt -t btrfs,xfs`; unmounting it frees the
// loop device.
class LoopFs {
 public:
  // 320 MiB: over XFS's 300 MiB minimum, and plenty for btrfs. The image is sparse.
  explicit LoopFs(LoopFsKind kind, std::uint64_t image_bytes = 320ULL << 20) : m_kind(kind) {
    try {
      set_up(image_bytes);
    } catch (...) {
      tear_down();
      throw;
    }
    if (!available()) {
      tear_down();
    }
  }
  ~LoopFs() { tear_down(); }
  LoopFs(const LoopFs&) = delete;
  LoopFs& operator=(const LoopFs&) = delete;

  bool available() const { return m_why_not.empty(); }
  const std::string& why_not() const { return m_why_not; }
  LoopFsKind kind() const { return m_kind; }
  const std::string& mount_point() const { return m_mount_point; }
  const std::string& device() const { return m_device; }
  // The absolute path of `relative` inside the mounted filesystem.
  std::string path(std::string_view relative) const { return m_mount_point + "/" + std::string(relative); }

 private:
  void set_up(std::uint64_t image_bytes) {
    const std::string name = kind_name(m_kind);
    if (::geteuid() != 0) {
      m_why_not = "a loop-mounted " + name + " needs root (losetup, mount)";
      return;
    }
    std::string mkfs = find_program("mkfs." + name);
    if (mkfs.empty()) {
      m_why_not = "no mkfs." + name + " (install " + (m_kind == LoopFsKind::btrfs ? "btrfs-progs" : "xfsprogs") + ")";
      return;
    }
    std::string losetup = find_program("losetup");
    if (losetup.empty()) {
      m_why_not = "no losetup (install util-linux)";
      return;
    }

    m_image = m_dir.path("image");
    int image_fd = ::open(m_image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (image_fd < 0 || ::ftruncate(image_fd, static_cast<off_t>(image_bytes)) != 0) {
      std::string why = std::strerror(errno);
      if (image_fd >= 0) {
        ::close(image_fd);
      }
      throw std::runtime_error("creating " + m_image + ": " + why);
    }
    ::close(image_fd);

    // mkfs on the plain file, before any loop device exists: nothing to undo if it fails.
    std::vector<std::string> mkfs_argv{mkfs, "-q", "-f"};
    if (m_kind == LoopFsKind::xfs) {
      mkfs_argv.insert(mkfs_argv.end(), {"-m", "reflink=1"});  // the default since xfsprogs 5.1; said anyway
    }
    mkfs_argv.push_back(m_image);
    CommandResult made = run_command(mkfs_argv);
    if (made.status != 0) {
      throw std::runtime_error(mkfs + " " + m_image + " failed: " + made.output);
    }

    CommandResult attached = run_command({losetup, "--find", "--show", m_image});
    if (attached.status != 0) {
      m_why_not = "no loop device available: losetup --find: " + attached.output;
      return;
    }
    m_device = attached.output.substr(0, attached.output.find('\n'));
    m_loop_fd = ::open(m_device.c_str(), O_RDWR | O_CLOEXEC);
    if (m_loop_fd < 0) {
      m_why_not = "cannot open " + m_device + ": " + std::strerror(errno);
      // Nobody else knows this device yet; detach it by name.
      run_command({losetup, "-d", m_device});
      return;
    }
    // From now on the device goes away with its last user, whatever happens to this process.
    struct loop_info64 info {};
    if (::ioctl(m_loop_fd, LOOP_GET_STATUS64, &info) == 0) {
      info.lo_flags |= LO_FLAGS_AUTOCLEAR;
      ::ioctl(m_loop_fd, LOOP_SET_STATUS64, &info);
    }

    m_mount_point = m_dir.mkdir("mnt");
    if (::mount(m_device.c_str(), m_mount_point.c_str(), name.c_str(), 0, nullptr) != 0) {
      int saved = errno;
      m_why_not = "cannot mount " + name + " from " + m_device + ": " + std::strerror(saved) +
                  (saved == ENODEV ? " (this kernel has no " + name + ")" : "");
      return;
    }
    m_mounted = true;
  }

  // Never throws: it runs in the destructor and after a failed set_up.
  void tear_down() noexcept {
    if (m_mounted) {
      if (::umount2(m_mount_point.c_str(), 0) != 0) {
        // Busy: a descriptor into it is still open (a test bug). Detach it lazily so nothing
        // stays visible; the kernel finishes when that descriptor closes.
        std::fprintf(stderr, "loop_fs: umount %s: %s; detaching lazily\n", m_mount_point.c_str(), std::strerror(errno));
        ::umount2(m_mount_point.c_str(), MNT_DETACH);
      }
      m_mounted = false;
    }
    if (m_loop_fd >= 0) {
      // Through our own descriptor, so it can only ever be our device: with it still open the
      // kernel defers the detach (autoclear) to the close just below.
      ::ioctl(m_loop_fd, LOOP_CLR_FD, 0);
      ::close(m_loop_fd);
      m_loop_fd = -1;
    }
    // m_dir (image and mount point) is removed by its own destructor.
  }

  LoopFsKind m_kind;
  TempTree m_dir;  // first: destroyed after tear_down() has unmounted what is inside it
  std::string m_image;
  std::string m_device;
  std::string m_mount_point;
  std::string m_why_not;
  int m_loop_fd = -1;
  bool m_mounted = false;
};

}  // namespace spindle::fakes
