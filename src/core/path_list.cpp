#include <spindle/path_list.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace spindle {

std::optional<FileError> read_records(const std::string& file, char separator,
                                      const std::function<void(std::string_view)>& on_record) {
  const bool standard_input = file == "-";
  const std::string name = standard_input ? std::string("standard input") : file;
  int fd = 0;
  if (!standard_input) {
    fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
      return FileError{name, errno, "open", ""};
    }
  }
  std::optional<FileError> error;
  std::string pending;
  char buffer[64 * 1024];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) {
      continue;
    }
    if (got < 0) {
      error = FileError{name, errno, "read", ""};
      break;
    }
    if (got == 0) {
      break;
    }
    std::string_view chunk(buffer, static_cast<std::size_t>(got));
    for (std::size_t at; (at = chunk.find(separator)) != std::string_view::npos;) {
      if (pending.empty()) {
        on_record(chunk.substr(0, at));
      } else {
        pending.append(chunk.substr(0, at));
        on_record(pending);
        pending.clear();
      }
      chunk.remove_prefix(at + 1);
    }
    pending.append(chunk);
  }
  if (!standard_input) {
    ::close(fd);
  }
  if (!error && !pending.empty()) {
    on_record(pending);
  }
  return error;
}

PathList read_path_list(const std::string& file, bool null_separated) {
  PathList list;
  std::size_t record = 0;
  const std::string name = file == "-" ? std::string("standard input") : file;
  std::optional<FileError> error = read_records(file, null_separated ? '\0' : '\n', [&](std::string_view entry) {
    ++record;
    if (entry.empty()) {
      list.errors.push_back(FileError{name + ":" + std::to_string(record), 0, "list", "empty file name, skipped"});
    } else {
      list.paths.emplace_back(entry);
    }
  });
  if (error) {
    throw Fatal(error->path + ": " + error->reason());
  }
  return list;
}

}  // namespace spindle
