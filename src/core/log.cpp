#include "utf8.hpp"

#include <spindle/log.hpp>

#include <cstring>

namespace spindle {

namespace {

constexpr std::string_view k_red_error = "\033[1;31merror:\033[0m ";
constexpr std::string_view k_yellow_warning = "\033[1;33mwarning:\033[0m ";

}  // namespace

Logger::Logger(std::FILE* sink, LogLevel level, bool colour) : m_sink(sink), m_level(level), m_colour(colour) {}

void Logger::log(LogLevel level, std::string_view message) {
  if (!enabled(level)) {
    return;
  }
  std::string line = "spindle: ";
  if (level == LogLevel::warning) {
    line += m_colour ? k_yellow_warning : "warning: ";
  } else if (level == LogLevel::error && m_colour) {
    line += k_red_error;
  }
  line += message;
  line += '\n';
  write_raw(line);
}

void Logger::file_error(const FileError& error) {
  if (!enabled(LogLevel::error)) {
    return;
  }
  std::string line = "spindle: ";
  if (m_colour) {
    line += k_red_error;
  }
  line += escape_for_terminal(error.path) + ": " + error.reason() + '\n';
  write_raw(line);
}

void Logger::write_raw(std::string_view text) {
  std::lock_guard lock(m_mutex);
  if (m_status.empty()) {
    std::fwrite(text.data(), 1, text.size(), m_sink);
  } else {
    // Erase the status line, print the message, redraw the status below it.
    std::string framed = erase_status();
    framed += text;
    framed += m_status;
    std::fwrite(framed.data(), 1, framed.size(), m_sink);
  }
  std::fflush(m_sink);
}

std::string Logger::erase_status() const {
  if (m_status_style == StatusStyle::ansi) {
    return "\r\033[K";
  }
  // m_status is "\r" and the line: blank every column it used.
  std::string erase = "\r";
  erase.append(m_status.size() > 0 ? m_status.size() - 1 : 0, ' ');
  erase += '\r';
  return erase;
}

void Logger::set_status(std::string_view status, StatusStyle style) {
  std::lock_guard lock(m_mutex);
  // An ANSI status erases as it draws (below); a plain one first blanks the old line.
  std::string drawn = style == StatusStyle::plain && !m_status.empty() ? erase_status() : std::string();
  m_status_style = style;
  m_status = "\r";
  if (style == StatusStyle::ansi) {
    m_status += "\033[K";
  }
  m_status += status;
  drawn += m_status;
  std::fwrite(drawn.data(), 1, drawn.size(), m_sink);
  std::fflush(m_sink);
}

void Logger::clear_status() {
  std::lock_guard lock(m_mutex);
  if (!m_status.empty()) {
    const std::string erase = erase_status();
    std::fwrite(erase.data(), 1, erase.size(), m_sink);
    std::fflush(m_sink);
    m_status.clear();
  }
}

std::string escape_for_terminal(std::string_view path) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(path.size());
  const auto hex = [&](unsigned char byte) {
    out += "\\x";
    out += k_hex[byte >> 4];
    out += k_hex[byte & 0xf];
  };
  std::size_t at = 0;
  while (at < path.size()) {
    const char c = path[at];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      // Valid UTF-8 stays readable, except the C1 controls U+0080..U+009F (C2 80..C2 9F): some
      // terminals obey U+009B as CSI. A byte outside valid UTF-8 is shown as hex, since an 8-bit
      // terminal would obey 0x9b itself.
      const std::size_t length = utf8_sequence_length(path, at);
      const bool c1_control = length == 2 && byte == 0xc2 && static_cast<unsigned char>(path[at + 1]) < 0xa0;
      if (length == 0 || c1_control) {
        const std::size_t count = length == 0 ? 1 : length;
        for (std::size_t i = 0; i < count; ++i) {
          hex(static_cast<unsigned char>(path[at + i]));
        }
        at += count;
      } else {
        out.append(path.substr(at, length));
        at += length;
      }
      continue;
    }
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      hex(byte);
    } else {
      out += c;
    }
    ++at;
  }
  return out;
}

std::string FileError::reason() const {
  std::string text = op;
  if (errnum != 0) {
    text += ": ";
    text += std::strerror(errnum);
  }
  if (!detail.empty()) {
    text += errnum != 0 ? " (" + detail + ")" : ": " + detail;
  }
  return text;
}

}  // namespace spindle
