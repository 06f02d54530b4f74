#pragma once

#include <spindle/output_file.hpp>

#include <functional>
#include <ostream>
#include <string>

namespace spindle::cli {

// Collects output and writes it in 64 KiB chunks; a line at a time to a terminal, so a
// listing on screen moves as files are read.
class LineWriter {
 public:
  LineWriter(std::ostream& out, bool per_line) : m_out(out), m_per_line(per_line) {}
  std::string& text() { return m_text; }
  // False once the stream has failed (a closed pipe): the run stops.
  bool line_done();
  void flush();

 private:
  static constexpr std::size_t k_chunk = 64 * 1024;
  std::ostream& m_out;
  bool m_per_line;
  std::string m_text;
};

// Put what `fill` writes (false from it: interrupted) into `output` (-o FILE or standard output),
// streamed as it comes. A FILE rewritten in place is truncated when commit starts, so its
// content is spooled to an unnamed temporary file first and copied in only once complete: an
// interrupted run leaves no partial listing in any FILE. Returns false when interrupted.
bool write_listing(OutputFile& output, const std::function<bool(std::ostream&)>& fill);

}  // namespace spindle::cli
