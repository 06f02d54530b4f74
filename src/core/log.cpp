#include <spindle/log.hpp>

#include <cstring>

namespace spindle {

Logger::Logger(std::FILE* sink, LogLevel level) : m_sink(sink), m_level(level) {}

void Logger::log(LogLevel level, std::string_view message) {
  if (!enabled(level)) {
    return;
  }
  std::string line = "spindle: ";
  if (level == LogLevel::warning) {
    line += "warning: ";
  }
  line += message;
  line += '\n';
  write_raw(line);
}

void Logger::file_error(const FileError& error) {
  if (!enabled(LogLevel::error)) {
    return;
  }
  std::string line = "spindle: " + escape_for_terminal(error.path) + ": " + error.reason() + '\n';
  write_raw(line);
}

void Logger::write_raw(std::string_view text) {
  std::lock_guard lock(m_mutex);
  if (m_status.empty()) {
    std::fwrite(text.data(), 1, text.size(), m_sink);
  } else {
    // Erase the status line, print the message, redraw the status below it.
    std::string framed = "\r\033[K";
    framed += text;
    framed += m_status;
    std::fwrite(framed.data(), 1, framed.size(), m_sink);
  }
  std::fflush(m_sink);
}

void Logger::set_status(std::string_view status) {
  std::lock_guard lock(m_mutex);
  m_status = "\r\033[K";
  m_status += status;
  std::fwrite(m_status.data(), 1, m_status.size(), m_sink);
  std::fflush(m_sink);
}

void Logger::clear_status() {
  std::lock_guard lock(m_mutex);
  if (!m_status.empty()) {
    std::fputs("\r\033[K", m_sink);
    std::fflush(m_sink);
    m_status.clear();
  }
}

std::string escape_for_terminal(std::string_view path) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += k_hex[byte >> 4];
      out += k_hex[byte & 0xf];
    } else {
      out += c;  // bytes >= 0x80 pass through: UTF-8 names stay readable
    }
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
