#include "report_formats.hpp"
#include "utf8.hpp"

#include <spindle/report.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

namespace spindle {

namespace {

constexpr char k_hex[] = "0123456789abcdef";

// "1 file", "2 files"; `plural_word` for irregular plurals ("directories").
std::string plural(std::uint64_t count, std::string_view word, std::string_view plural_word = {}) {
  std::string text = std::to_string(count);
  text += ' ';
  if (count == 1) {
    text += word;
  } else if (!plural_word.empty()) {
    text += plural_word;
  } else {
    text += word;
    text += 's';
  }
  return text;
}

}  // namespace

ChunkedOutput::ChunkedOutput(std::ostream& out) : m_out(out) {
  m_buffer.reserve(k_chunk_bytes + 4096);
}

void ChunkedOutput::flush() {
  if (!m_buffer.empty()) {
    m_out.write(m_buffer.data(), static_cast<std::streamsize>(m_buffer.size()));
    m_buffer.clear();
  }
}

void append_uint(std::string& out, std::uint64_t value) {
  std::array<char, 24> digits{};
  const std::to_chars_result end = std::to_chars(digits.data(), digits.data() + digits.size(), value);
  out.append(digits.data(), end.ptr);
}

void append_group_header(std::string& out, std::uint64_t count, std::string_view noun, std::uint64_t size,
                         std::string_view hash) {
  out += "# ";
  append_uint(out, count);
  out += ' ';
  out += noun;
  out += " of ";
  out += human_size(size);
  out += " (";
  append_uint(out, size);
  out += " bytes), ";
  out += hash;
  out += ", ";
}

void append_ms(std::string& out, std::uint64_t ns) {
  append_uint(out, ns / 1'000'000);
  out += '.';
  const std::uint64_t micros = ns / 1'000 % 1'000;
  out += static_cast<char>('0' + micros / 100);
  out += static_cast<char>('0' + micros / 10 % 10);
  out += static_cast<char>('0' + micros % 10);
}

void append_json_escaped(std::string& out, std::string_view bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    const char c = bytes[at];
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80) {
      const std::size_t length = utf8_sequence_length(bytes, at);
      if (length == 0) {
        // One undecodable byte; the next byte starts afresh, as Python's surrogateescape does.
        out += "\\udc";
        out += k_hex[byte >> 4];
        out += k_hex[byte & 0xf];
        at += 1;
      } else if (length == 2 && byte == 0xc2 && static_cast<unsigned char>(bytes[at + 1]) < 0xa0) {
        // A C1 control (U+0080..U+009F), which some terminals obey: the \u escape is the same
        // string to a JSON reader and inert on a screen.
        out += "\\u00";
        out += k_hex[static_cast<unsigned char>(bytes[at + 1]) >> 4];
        out += k_hex[static_cast<unsigned char>(bytes[at + 1]) & 0xf];
        at += length;
      } else {
        out.append(bytes.substr(at, length));
        at += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20 || byte == 0x7f) {
          out += "\\u00";
          out += k_hex[byte >> 4];
          out += k_hex[byte & 0xf];
        } else {
          out += c;
        }
        break;
    }
    at += 1;
  }
}

void append_csv_field(std::string& out, std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(text);
    return;
  }
  out += '"';
  for (char c : text) {
    if (c == '"') {
      out += '"';
    }
    out += c;
  }
  out += '"';
}

std::unique_ptr<Reporter> make_reporter(ReportFormat format, ReportOptions options) {
  switch (format) {
    case ReportFormat::text:
      return std::make_unique<TextReporter>(options);
    case ReportFormat::fdupes:
      return std::make_unique<FdupesReporter>(options);
    case ReportFormat::csv:
      return std::make_unique<CsvReporter>(options);
    case ReportFormat::json:
      return std::make_unique<JsonReporter>();
    case ReportFormat::jsonl:
      return std::make_unique<JsonlReporter>(options);
  }
  throw std::logic_error("make_reporter: unknown ReportFormat");
}

std::string json_escape_path(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 2);
  append_json_escaped(out, path);
  return out;
}

std::string csv_field(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  append_csv_field(out, text);
  return out;
}

std::string format_stats(const RunStats& stats) {
  std::string out = "scanned " + plural(stats.files_scanned, "file") + " (" + human_size(stats.bytes_scanned) +
                    ") in " + plural(stats.directories, "directory", "directories") + ", skipped " +
                    plural(stats.skipped_special, "special file") + ", " + plural(stats.errors, "error") + '\n';
  out += "found " + plural(stats.groups, "group") + ", " + plural(stats.duplicate_files, "duplicate file") + ", " +
         human_size(stats.wasted_bytes) + " wasted\n";
  out += "read " + human_size(stats.bytes_read) + " in ";
  append_ms(out, stats.elapsed_ns);
  out += " ms\n";
  // Exact, on a line of its own, for scripts (a cached run over an unchanged tree reads 0).
  out += "bytes read: " + std::to_string(stats.bytes_read) + '\n';
  if (stats.cache_used) {
    out += "cache: " + std::to_string(stats.cache_hits) + " hits, " + std::to_string(stats.cache_misses) + " misses\n";
  }

  std::size_t name_width = 0;
  for (const StageReport& stage : stats.stages) {
    name_width = std::max(name_width, stage.name.size());
  }
  for (const StageReport& stage : stats.stages) {
    out += "stage " + stage.name + std::string(name_width - stage.name.size(), ' ') + "  ";
    out += std::to_string(stage.files_in) + " -> " + plural(stage.files_out, "file") + ", " +
           plural(stage.groups_out, "group") + ", " + human_size(stage.bytes_read) + " read, ";
    append_ms(out, stage.elapsed_ns);
    out += " ms";
    // The team sizes this stage really ran with (after cache and descriptor adaptation).
    std::string threads;
    for (std::size_t p = 0; p < stage.pool_threads.size() && p < stats.pools.size(); ++p) {
      if (stage.pool_threads[p] > 0) {
        threads += ' ' + stats.pools[p].device + '=' + std::to_string(stage.pool_threads[p]);
      }
    }
    out += threads.empty() ? "\n" : ", threads" + threads + '\n';
  }

  std::vector<std::string> labels;
  std::size_t label_width = 0;
  for (const PoolReport& pool : stats.pools) {
    // For stderr: a device name can come from a mount source, which whoever mounted it chose.
    labels.push_back(escape_for_terminal(pool.device) + " (" + std::string(to_string(pool.device_class)) + ")");
    label_width = std::max(label_width, labels.back().size());
  }
  for (std::size_t i = 0; i < stats.pools.size(); ++i) {
    const PoolReport& pool = stats.pools[i];
    out += "pool " + labels[i] + std::string(label_width - labels[i].size(), ' ') + "  ";
    out += "threads " + std::to_string(pool.threads.small) + '/' + std::to_string(pool.threads.large) + ", " +
           plural(pool.files, "file") + ", " + human_size(pool.bytes_read) + " read, busy ";
    append_ms(out, pool.busy_ns);
    out += " ms, idle ";
    append_ms(out, pool.idle_ns);
    out += " ms, at most " + std::to_string(pool.max_running) + " running\n";
  }
  return out;
}

}  // namespace spindle
