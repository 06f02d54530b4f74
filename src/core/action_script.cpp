// The dry-run script of the actions and the path arithmetic it shares with them. The script is
// for a person to review and for sh to run: every path single-quoted, so a name with spaces,
// quotes, newlines, a leading '-' or bytes that are not UTF-8 reaches the command unchanged.
#include <spindle/actions.hpp>

#include <climits>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

namespace spindle {

namespace {

// "@SECONDS.NANOSECONDS", the form GNU touch -d takes.
std::string touch_time(std::int64_t ns) {
  std::int64_t seconds = ns / 1'000'000'000;
  std::int64_t rest = ns % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    --seconds;
  }
  std::string fraction = std::to_string(rest);
  fraction.insert(0, 9 - fraction.size(), '0');
  return "@" + std::to_string(seconds) + "." + fraction;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) {
      end = path.size();
    }
    if (end > start) {
      parts.push_back(path.substr(start, end - start));
    }
    start = end + 1;
  }
  return parts;
}

}  // namespace

const char* to_string(ActionKind kind) {
  switch (kind) {
    case ActionKind::link:
      return "link";
    case ActionKind::symlink:
      return "symlink";
    case ActionKind::remove:
      return "remove";
    case ActionKind::move:
      return "move";
    case ActionKind::dedupe:
      return "dedupe";
  }
  return "?";
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

Result<std::string> absolute_path(const std::string& path) {
  std::string dir = parent_of(path);
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  std::unique_ptr<char, decltype(&std::free)> real(::realpath(dir.c_str(), nullptr), &std::free);
  if (!real) {
    return FileError{path, errno, "realpath", ""};
  }
  std::string absolute = real.get();
  if (name.empty() || name == "." || name == "..") {
    // A directory named by its path: resolve it whole.
    std::unique_ptr<char, decltype(&std::free)> whole(::realpath(path.c_str(), nullptr), &std::free);
    if (!whole) {
      return FileError{path, errno, "realpath", ""};
    }
    return std::string(whole.get());
  }
  return absolute == "/" ? "/" + name : absolute + "/" + name;
}

std::string move_destination(const std::string& dir, const std::string& path, const std::string& absolute) {
  std::vector<std::string> parts = components(path);
  bool up = false;
  for (const std::string& part : parts) {
    up = up || part == "..";
  }
  if (path.starts_with('/') || up) {
    parts = components(absolute);
  }
  std::string out = dir;
  while (out.size() > 1 && out.back() == '/') {
    out.pop_back();
  }
  for (const std::string& part : parts) {
    if (part == ".") {
      continue;
    }
    out += (out.ends_with('/') ? "" : "/") + part;
  }
  return out;
}

std::string relative_target(const std::string& link, const std::string& target) {
  const std::vector<std::string> from = components(parent_of(link));
  const std::vector<std::string> to = components(target);
  std::size_t common = 0;
  while (common < from.size() && common + 1 < to.size() && from[common] == to[common]) {
    ++common;
  }
  std::string out;
  for (std::size_t i = common; i < from.size(); ++i) {
    out += "../";
  }
  for (std::size_t i = common; i < to.size(); ++i) {
    out += to[i];
    out += i + 1 < to.size() ? "/" : "";
  }
  return out;
}

std::string script_lines(const FileOutcome& outcome, const ActionOptions& options) {
  if (outcome.outcome != Outcome::done) {
    return {};
  }
  const std::string path = shell_quote(outcome.path);
  const std::string kept = shell_quote(outcome.kept);
  switch (options.kind) {
    case ActionKind::link:
      return "ln -f -- " + kept + " " + path + "\n";
    case ActionKind::symlink: {
      std::string lines = "ln -sfn -- " + shell_quote(outcome.target) + " " + path + "\n";
      lines += "touch -h -m -d " + touch_time(outcome.mtime_ns) + " -- " + path + "\n";
      return lines;
    }
    case ActionKind::remove:
      return "rm -f -- " + path + "\n";
    case ActionKind::move: {
      const std::string dest = shell_quote(outcome.target);
      return "mkdir -p -- " + shell_quote(parent_of(outcome.target)) + " && mv -n -T -- " + path + " " + dest + "\n";
    }
    case ActionKind::dedupe:
      // The shell has no FIDEDUPERANGE: a clone in place gives the same result (the copy shares
      // the kept file's extents), without the kernel's comparison under lock.
      return "cp --reflink=always -- " + kept + " " + path + " && touch -m -d " + touch_time(outcome.mtime_ns) +
             " -- " + path + "\n";
  }
  return {};
}

}  // namespace spindle
