#include <spindle/error.hpp>
#include <spindle/glob_list.hpp>
#include <spindle/path_list.hpp>

namespace spindle {

std::vector<std::string> read_glob_list(const std::string& file, bool null_separated) {
  std::vector<std::string> globs;
  std::optional<FileError> error = read_records(file, null_separated ? '\0' : '\n', [&](std::string_view entry) {
    if (!entry.empty() && entry.front() != '#') {
      globs.emplace_back(entry);
    }
  });
  if (error) {
    throw Fatal(error->path + ": " + error->reason());
  }
  return globs;
}

}  // namespace spindle
