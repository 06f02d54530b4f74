#pragma once

// The Reporter implementations (one per --format, each in its own report_<format>.cpp) and the
// small helpers they share. Private to spindle_core; the public face is make_reporter().

#include <spindle/report.hpp>

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>

namespace spindle {

// Collects report text and hands it to the stream in chunks of about k_chunk_bytes, so a report
// of a million files is neither one huge string nor a million tiny stream writes. Call finish()
// at the end; a stream error is left in the stream's state for the caller to check.
class ChunkedOutput {
 public:
  static constexpr std::size_t k_chunk_bytes = 64 * 1024;

  explicit ChunkedOutput(std::ostream& out);
  ChunkedOutput(const ChunkedOutput&) = delete;
  ChunkedOutput& operator=(const ChunkedOutput&) = delete;

  // The pending text; append to it, then call maybe_flush().
  std::string& buffer() { return m_buffer; }
  // Write the pending text out once it has reached a chunk.
  void maybe_flush() {
    if (m_buffer.size() >= k_chunk_bytes) {
      flush();
    }
  }
  // Write whatever is pending.
  void finish() { flush(); }

 private:
  void flush();

  std::ostream& m_out;
  std::string m_buffer;
};

// Append `value` in decimal.
void append_uint(std::string& out, std::uint64_t value);

// Append a text report's group header up to its last part: "# 3 files of 1.5 KiB (1536 bytes),
// HASH, " (`noun` says what is counted: "file", "files", "directories"). The actions read it back
// (report_read_text.cpp), so every writer builds it here.
void append_group_header(std::string& out, std::uint64_t count, std::string_view noun, std::uint64_t size,
                         std::string_view hash);

// Append nanoseconds as milliseconds with three decimals ("12.345"), locale-independent.
void append_ms(std::string& out, std::uint64_t ns);

// Append the body of a JSON string (no quotes) for arbitrary bytes; see json_escape_path().
void append_json_escaped(std::string& out, std::string_view bytes);

// Append the RFC 4180 form of one field; see csv_field().
void append_csv_field(std::string& out, std::string_view text);

// Append the path of file `index`: raw bytes, or through escape_for_terminal when
// options.escape_names (the report goes to a terminal).
void append_report_path(std::string& out, const FileTable& files, FileIndex index, const ReportOptions& options);

// Append a directory of a DirGroup as text, fdupes and csv list it: its path and a '/' (so it is
// told from a file), raw or through escape_for_terminal as append_report_path does.
void append_report_dir(std::string& out, const std::string& dir, const ReportOptions& options);

// `# 3 files of 1.5 KiB (1536 bytes), <hash>, 3.0 KiB wasted`, each path on its own line
// (raw bytes, or escaped for a terminal), a blank line between groups.
class TextReporter final : public Reporter {
 public:
  explicit TextReporter(ReportOptions options) : m_options(options) {}
  void write(const GroupResult& result, std::ostream& out) override;

 private:
  ReportOptions m_options;
};

// Byte for byte what `fdupes -r` prints (to a pipe or a file): paths one per line, an empty line
// after every group; names escaped for a terminal when options.escape_names.
class FdupesReporter final : public Reporter {
 public:
  explicit FdupesReporter(ReportOptions options) : m_options(options) {}
  void write(const GroupResult& result, std::ostream& out) override;

 private:
  ReportOptions m_options;
};

// Header `size,hash,count,path`, then one row per file, groups in order; LF line ends. With
// options.escape_names the path is escaped for a terminal before it is quoted.
class CsvReporter final : public Reporter {
 public:
  explicit CsvReporter(ReportOptions options) : m_options(options) {}
  void write(const GroupResult& result, std::ostream& out) override;

 private:
  ReportOptions m_options;
};

// One group as the JSON report writes it: {"size":N,"hash":"<hex>","files":[{...}...]}, files in
// the order given.
void append_json_group(std::string& out, const FileTable& files, std::uint64_t size, const Digest& hash,
                       std::span<const FileIndex> members);

// The members of the JSON report's "stats" object (no braces), "errors_list" included.
void append_json_stats(std::string& out, const GroupResult& result);

// One group per line (append_json_group), then, with options.stats_line, {"stats":{...}}.
class JsonlReporter final : public Reporter {
 public:
  explicit JsonlReporter(ReportOptions options) : m_options(options) {}
  void write(const GroupResult& result, std::ostream& out) override;

 private:
  ReportOptions m_options;
};

// One document: {"groups":[{"size","hash","files"}...],"stats":{...,"errors_list":[...]}}.
class JsonReporter final : public Reporter {
 public:
  void write(const GroupResult& result, std::ostream& out) override;
};

}  // namespace spindle
