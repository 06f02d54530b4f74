// The calibration store: one "<device key> <r> <s>" line per calibrated device.
#include <spindle/calibrate.hpp>
#include <spindle/error.hpp>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace spindle {

namespace {

constexpr int k_max_stored_threads = 1024;

std::string home_directory() {
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return home;
  }
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir != nullptr) {
    return entry->pw_dir;
  }
  return "/";
}

[[noreturn]] void fail(const std::filesystem::path& path, std::string_view op, int errnum) {
  throw Fatal(path.string() + ": " + std::string(op) + ": " + std::strerror(errnum));
}

}  // namespace

std::filesystem::path calibration_path() {
  // The XDG base directory spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  if (const char* config = std::getenv("XDG_CONFIG_HOME"); config != nullptr && config[0] == '/') {
    return std::filesystem::path(config) / "spindle" / "calibration";
  }
  return std::filesystem::path(home_directory()) / ".config" / "spindle" / "calibration";
}

Calibration parse_calibration(std::string_view text, std::string_view source, Logger& log) {
  Calibration calibration;
  int line_number = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string line(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    start = end == std::string_view::npos ? text.size() : end + 1;
    ++line_number;
    std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') {
      continue;
    }
    std::istringstream fields(line);
    std::string key;
    std::vector<int> counts;
    std::string word;
    fields >> key;
    bool valid = !key.empty();
    while (valid && fields >> word) {
      int count = 0;
      auto [end_of_count, error] = std::from_chars(word.data(), word.data() + word.size(), count);
      valid = error == std::errc() && end_of_count == word.data() + word.size() && count >= 1 &&
              count <= k_max_stored_threads;
      counts.push_back(count);
    }
    if (!valid || counts.empty() || counts.size() > 2) {
      log.warning(escape_for_terminal(source) + ":" + std::to_string(line_number) +
                  ": ignoring malformed calibration line (expected '<device key> <r> <s>')");
      continue;
    }
    calibration.best_threads[key] = ThreadCounts{counts.front(), counts.back()};
  }
  return calibration;
}

Calibration load_calibration(const std::filesystem::path& path, Logger& log) {
  std::ifstream in(path);
  if (!in) {
    return {};
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_calibration(text.str(), path.string(), log);
}

void save_calibration(const Calibration& calibration, const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) {
    fail(path.parent_path(), "mkdir", error.value());
  }
  // Sorted, so the file is stable under rewrites and diffs well.
  std::vector<std::pair<std::string, ThreadCounts>> entries(calibration.best_threads.begin(),
                                                            calibration.best_threads.end());
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string text =
      "# spindle calibration: <device key> <threads for small reads> <threads for whole-file reads>\n"
      "# written by `spindle devices --calibrate`\n";
  for (const auto& [key, threads] : entries) {
    text += key + " " + std::to_string(threads.small) + " " + std::to_string(threads.large) + "\n";
  }

  // A reader (a concurrent `spindle group`) sees the old file or the new one, never half of one.
  std::string temp = path.string() + ".tmp." + std::to_string(getpid());
  std::FILE* file = std::fopen(temp.c_str(), "w");
  if (file == nullptr) {
    fail(temp, "open", errno);
  }
  bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size() && std::fflush(file) == 0 &&
                 fsync(fileno(file)) == 0;
  int write_errno = errno;
  if (std::fclose(file) != 0 && written) {
    written = false;
    write_errno = errno;
  }
  if (!written) {
    std::remove(temp.c_str());
    fail(temp, "write", write_errno);
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int rename_errno = errno;
    std::remove(temp.c_str());
    fail(path, "rename", rename_errno);
  }
}

}  // namespace spindle
