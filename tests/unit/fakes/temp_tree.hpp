#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::fakes {

// A fresh directory under the system temp dir, filled by the test and removed with everything in
// it when the test ends. Paths given to the builders are relative to the root and may hold any
// bytes but NUL (newlines and non-UTF-8 names included); parent directories are created as
// needed. Every builder throws std::runtime_error on failure, which GoogleTest reports as a test
// failure, so a test never runs on a half-built tree.
class TempTree {
 public:
  TempTree() : TempTree(std::filesystem::temp_directory_path()) {}
  // A tree under `parent`, e.g. /dev/shm for a second filesystem.
  explicit TempTree(const std::filesystem::path& parent) {
    std::string pattern = (parent / "spindle-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      fail("mkdtemp", pattern);
    }
    m_root = pattern;
  }
  ~TempTree() { remove_tree(AT_FDCWD, m_root.c_str()); }
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;

  const std::string& root() const { return m_root; }
  // The absolute path of `relative` inside the tree.
  std::string path(std::string_view relative) const { return m_root + "/" + std::string(relative); }

  // Create a directory (and its parents); returns its absolute path.
  std::string mkdir(std::string_view relative) {
    std::string full = path(relative);
    std::error_code ec;
    std::filesystem::create_directories(full, ec);
    if (ec) {
      throw std::runtime_error("create_directories " + full + ": " + ec.message());
    }
    return full;
  }

  // Create or overwrite a regular file holding exactly `bytes`; returns its absolute path.
  std::string write(std::string_view relative, std::string_view bytes) {
    return write_bytes(relative, std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
  }

  std::string write_bytes(std::string_view relative, std::span<const std::byte> bytes) {
    make_parent(relative);
    std::string full = path(relative);
    int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
      fail("open", full);
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t wrote = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (wrote < 0) {
        int saved = errno;
        ::close(fd);
        errno = saved;
        fail("write", full);
      }
      done += static_cast<std::size_t>(wrote);
    }
    ::close(fd);
    return full;
  }

  // A second name for the inode of `existing`.
  std::string hard_link(std::string_view existing, std::string_view relative) {
    make_parent(relative);
    std::string full = path(relative);
    if (::link(path(existing).c_str(), full.c_str()) != 0) {
      fail("link", full);
    }
    return full;
  }

  // A symbolic link holding `target` verbatim (relative targets resolve from the link's directory).
  std::string symlink(std::string_view target, std::string_view relative) {
    make_parent(relative);
    std::string full = path(relative);
    if (::symlink(std::string(target).c_str(), full.c_str()) != 0) {
      fail("symlink", full);
    }
    return full;
  }

  std::string fifo(std::string_view relative) {
    make_parent(relative);
    std::string full = path(relative);
    if (::mkfifo(full.c_str(), 0644) != 0) {
      fail("mkfifo", full);
    }
    return full;
  }

  // Change the mode of a file or directory; removal works whatever mode is left behind.
  void chmod(std::string_view relative, mode_t mode) {
    std::string full = path(relative);
    if (::chmod(full.c_str(), mode) != 0) {
      fail("chmod", full);
    }
  }

  // Remove one name (a file, link, FIFO, or an empty directory).
  void remove(std::string_view relative) {
    std::string full = path(relative);
    if (::remove(full.c_str()) != 0) {
      fail("remove", full);
    }
  }

 private:
  [[noreturn]] static void fail(const char* op, const std::string& full) {
    throw std::runtime_error(std::string(op) + " " + full + ": " + std::strerror(errno));
  }

  void make_parent(std::string_view relative) {
    std::string_view::size_type slash = relative.rfind('/');
    if (slash != std::string_view::npos) {
      mkdir(relative.substr(0, slash));
    }
  }

  // Remove `name` under `dir_fd` through file descriptors, never whole paths: a test may build
  // trees deeper than PATH_MAX, and directories whose mode forbids listing (restored first).
  static void remove_tree(int dir_fd, const char* name) {
    struct stat st {};
    if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return;
    }
    if (!S_ISDIR(st.st_mode)) {
      ::unlinkat(dir_fd, name, 0);
      return;
    }
    ::fchmodat(dir_fd, name, 0700, 0);
    int fd = ::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      DIR* dir = ::fdopendir(fd);
      if (dir == nullptr) {
        ::close(fd);
      } else {
        std::vector<std::string> children;
        while (struct dirent* entry = ::readdir(dir)) {
          std::string child = entry->d_name;
          if (child != "." && child != "..") {
            children.push_back(std::move(child));
          }
        }
        for (const std::string& child : children) {
          remove_tree(::dirfd(dir), child.c_str());
        }
        ::closedir(dir);
      }
    }
    ::unlinkat(dir_fd, name, AT_REMOVEDIR);
  }

  std::string m_root;
};

// A Logger sink the test can read back: an anonymous temporary file, closed at scope exit.
class TempSink {
 public:
  TempSink() : m_file(std::tmpfile()) {
    if (m_file == nullptr) {
      throw std::runtime_error(std::string("tmpfile: ") + std::strerror(errno));
    }
  }
  ~TempSink() { std::fclose(m_file); }
  TempSink(const TempSink&) = delete;
  TempSink& operator=(const TempSink&) = delete;

  std::FILE* get() const { return m_file; }

  // Everything written so far.
  std::string contents() const {
    std::fflush(m_file);
    std::rewind(m_file);
    std::string text;
    char chunk[4096];
    std::size_t got = 0;
    while ((got = std::fread(chunk, 1, sizeof(chunk), m_file)) > 0) {
      text.append(chunk, got);
    }
    std::fseek(m_file, 0, SEEK_END);
    return text;
  }

 private:
  std::FILE* m_file;
};

}  // namespace spindle::fakes
