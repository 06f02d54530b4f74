// The calibration store: one "<device key> <r> <s>" line per calibrated device.
#include <spindle/calibrate.hpp>
#include <spindle/error.hpp>
#include <spindle/output_file.hpp>
#include <spindle/small_file.hpp>

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>

namespace spindle {

namespace {

constexpr int k_max_stored_threads = 1024;
// A store holds a line per device; anything near this size is not one.
constexpr std::size_t k_max_store_bytes = 1 << 20;

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

std::filesystem::path system_calibration_path() {
  if (const char* dir = std::getenv("SPINDLE_SYSTEM_CONFIG_DIR"); dir != nullptr && dir[0] == '/') {
    return std::filesystem::path(dir) / "calibration";
  }
  return "/etc/spindle/calibration";
}

Calibration load_calibrations(Logger& log) {
  Calibration merged = load_calibration(system_calibration_path(), log);
  for (auto& [key, threads] : load_calibration(calibration_path(), log).best_threads) {
    merged.best_threads[key] = threads;
  }
  return merged;
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
  Result<std::string> text = read_small_file(path.string(), k_max_store_bytes);
  if (!text) {
    // Missing: nothing calibrated yet. Anything else (a FIFO, /dev/zero behind a symlink, a
    // huge file, EACCES) is said once and the built-in defaults are used.
    if (text.error().errnum != ENOENT) {
      log.warning(escape_for_terminal(path.string()) + ": " + text.error().reason() + "; calibration ignored");
    }
    return {};
  }
  return parse_calibration(*text, path.string(), log);
}

OutputFile open_calibration_store(const std::filesystem::path& path) {
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) {
    fail(path.parent_path(), "mkdir", error.value());
  }
  // As every file spindle writes: an exclusive temporary renamed over the store (a concurrent
  // `spindle group` reads the old file or the new one, never half of one), a symlinked store
  // (stow) written through, its mode kept; a store that is not a regular file is refused rather
  // than written into.
  return OutputFile::open(path.string(), OutputFile::Options{.regular_only = true});
}

void save_calibration(const Calibration& calibration, OutputFile& store) {
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
  store.commit([&](std::ostream& out) { out << text; });
}

void save_calibration(const Calibration& calibration, const std::filesystem::path& path) {
  OutputFile store = open_calibration_store(path);
  save_calibration(calibration, store);
}

}  // namespace spindle
