#pragma once

#include <spindle/error.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace spindle {

// `silent` logs nothing: for work whose failures are nobody's business (calibration's sample of a
// device skips what it cannot read).
enum class LogLevel { silent = -1, error = 0, warning = 1, info = 2, debug = 3 };

// How a status line is drawn and erased: `ansi` with "\r" and ESC[K (erase to the end of the
// line); `plain` with "\r" and blanks only, for TERM=dumb, which obeys no escape sequence.
enum class StatusStyle { ansi, plain };

// Thread-safe logger for stderr. Each message is built whole and written with one locked call,
// so lines from different threads never interleave. Only the report writer touches stdout.
class Logger {
 public:
  // `colour`: mark errors with a red "error:" and warnings with a yellow "warning:" (--color;
  // never for a pipe or a file unless --color always).
  explicit Logger(std::FILE* sink = stderr, LogLevel level = LogLevel::warning, bool colour = false);

  bool enabled(LogLevel level) const { return level <= m_level; }
  void log(LogLevel level, std::string_view message);
  void error(std::string_view message) { log(LogLevel::error, message); }
  void warning(std::string_view message) { log(LogLevel::warning, message); }
  void info(std::string_view message) { log(LogLevel::info, message); }
  void debug(std::string_view message) { log(LogLevel::debug, message); }

  // "spindle: PATH: open: Permission denied"; the path is escaped so a newline in a name
  // cannot forge a second line.
  void file_error(const FileError& error);

  // Write raw text under the same lock.
  void write_raw(std::string_view text);

  // Show (replace) a one-line status at the bottom of a terminal; messages logged meanwhile are
  // printed above it and the status is redrawn under them.
  void set_status(std::string_view status, StatusStyle style = StatusStyle::ansi);
  void clear_status();

 private:
  std::FILE* m_sink;
  LogLevel m_level;
  std::mutex m_mutex;
  bool m_colour;
  std::string m_status;  // the status line on screen, if any
  StatusStyle m_status_style = StatusStyle::ansi;

  // What erases the status line on screen (under the lock).
  std::string erase_status() const;
};

// Quote a path for a one-line message or a terminal, so no name can move the cursor, change
// colours or the window title, or forge a line: printable ASCII and valid UTF-8 as is; '\' as
// \\; line feed and tab as \n and \t; every other control byte (C0, DEL), the C1 controls
// U+0080..U+009F and each byte that is not part of valid UTF-8 as \xHH (lowercase hex).
// Unambiguous: the escaped form of two different names differs.
std::string escape_for_terminal(std::string_view path);

}  // namespace spindle
