#include "report_formats.hpp"

#include <spindle/hash.hpp>

namespace spindle {

void TextReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  bool first = true;
  for (const DuplicateGroup& group : result.groups) {
    if (!first) {
      text += '\n';
    }
    first = false;
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
    text += " wasted\n";
    // Raw bytes, as fdupes writes them; the man page points to json/csv for names with newlines.
    for (FileIndex index : group.files) {
      result.files.append_path(index, text);
      text += '\n';
      chunks.maybe_flush();
    }
  }
  chunks.finish();
}

}  // namespace spindle
