#include "report_formats.hpp"

namespace spindle {

void FdupesReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  const char end = m_options.zero_terminated ? '\0' : '\n';
  // --dirs: directory groups first, listed as files are, each directory ending in '/'.
  for (const DirGroup& group : result.dir_groups) {
    for (const std::string& dir : group.dirs) {
      append_report_dir(text, dir, m_options);
      text += end;
    }
    text += end;
  }
  for (const DuplicateGroup& group : result.groups) {
    for (FileIndex index : group.files) {
      append_report_path(text, result.files, index, m_options);
      text += end;
      chunks.maybe_flush();
    }
    // fdupes 2.2 ends every group with an empty line, the last one included.
    text += end;
  }
  chunks.finish();
}

}  // namespace spindle
