#include "report_formats.hpp"

#include <spindle/hash.hpp>
#include <spindle/log.hpp>

namespace spindle {

void append_report_path(std::string& out, const FileTable& files, FileIndex index, const ReportOptions& options) {
  if (!options.escape_names) {
    files.append_path(index, out);
    return;
  }
  std::string raw;
  files.append_path(index, raw);
  out += escape_for_terminal(raw);
}

void TextReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  const char end = m_options.zero_terminated ? '\0' : '\n';
  bool first = true;
  for (const DuplicateGroup& group : result.groups) {
    if (!first) {
      text += end;
    }
    first = false;
    if (m_options.colour) {
      text += "\033[1m";
    }
    text += "# ";
    append_uint(text, group.files.size());
    text += " files of ";
    text += human_size(group.size);
    text += " (";
    append_uint(text, group.size);
    text += " bytes), ";
    text += to_hex(group.hash);
    text += ", ";
    text += human_size(group.wasted());
    text += " wasted";
    if (m_options.colour) {
      text += "\033[0m";
    }
    text += end;
    // Raw bytes, as fdupes writes them (the man page points to json/csv for names with newlines),
    // unless the reader is a terminal.
    for (FileIndex index : group.files) {
      append_report_path(text, result.files, index, m_options);
      text += end;
      chunks.maybe_flush();
    }
  }
  chunks.finish();
}

}  // namespace spindle
