#include "report_formats.hpp"

#include <spindle/hash.hpp>
#include <spindle/log.hpp>

namespace spindle {

namespace {

// --dirs: one row per directory of each DirGroup, before the files, as a file's row is (size is
// the bytes under the directory, hash its content digest); the path ends in '/'.
void append_dir_rows(ChunkedOutput& chunks, const GroupResult& result, const ReportOptions& options) {
  std::string& text = chunks.buffer();
  for (const DirGroup& group : result.dir_groups) {
    for (const std::string& dir : group.dirs) {
      append_uint(text, group.size);
      text += ',';
      text += to_hex(group.hash);
      text += ',';
      append_uint(text, group.dirs.size());
      text += ',';
      std::string path;
      append_report_dir(path, dir, options);
      append_csv_field(text, path);
      text += '\n';
      chunks.maybe_flush();
    }
  }
}

}  // namespace

void CsvReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  // LF line ends, not RFC 4180's CRLF: the Unix convention, and every CSV reader accepts both.
  text += "size,hash,count,path\n";
  append_dir_rows(chunks, result, m_options);
  for (const DuplicateGroup& group : result.groups) {
    // The first three fields are digits and hex, never quoted; only the path goes through csv_field.
    std::string prefix;
    append_uint(prefix, group.size);
    prefix += ',';
    if (group.hashed) {  // a one-file group of --rf-under was never read whole: an empty hash
      prefix += to_hex(group.hash);
    }
    prefix += ',';
    append_uint(prefix, group.files.size());
    prefix += ',';
    for (FileIndex index : group.files) {
      text += prefix;
      if (m_options.escape_names) {
        append_csv_field(text, escape_for_terminal(result.files.path(index)));
      } else {
        append_csv_field(text, result.files.path(index));
      }
      text += '\n';
      chunks.maybe_flush();
    }
  }
  chunks.finish();
}

}  // namespace spindle
