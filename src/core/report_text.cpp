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

void append_report_dir(std::string& out, const std::string& dir, const ReportOptions& options) {
  const std::string path = dir.ends_with('/') ? dir : dir + '/';
  out += options.escape_names ? escape_for_terminal(path) : path;
}

namespace {

// "# 3 files of 1.5 KiB (1536 bytes), HASH, 3.0 KiB wasted". In a report of --rf-under or
// --unique the header says the group's copies instead of what it wastes (so no action reads it as
// duplicates): "# 2 files of ..., HASH, 2 copies", and a file with no copy, never read whole,
// "# 1 file of 1.5 KiB (1536 bytes), no hash, 1 copy".
void append_header(std::string& text, const DuplicateGroup& group, bool copies) {
  append_group_header(text, group.files.size(), group.files.size() == 1 ? "file" : "files", group.size,
                      group.hashed ? to_hex(group.hash) : std::string("no hash"));
  if (copies) {
    append_uint(text, group.copies);
    text += group.copies == 1 ? " copy" : " copies";
  } else {
    text += human_size(group.wasted());
    text += " wasted";
  }
}

// --dirs: `# 2 directories of 1.5 KiB (1536 bytes), <digest>, 1.5 KiB wasted`, then each
// directory with a trailing '/', before the file groups and like them followed by a blank line.
void append_dir_groups(std::string& text, const GroupResult& result, const ReportOptions& options, bool& first) {
  const char end = options.zero_terminated ? '\0' : '\n';
  for (const DirGroup& group : result.dir_groups) {
    if (!first) {
      text += end;
    }
    first = false;
    if (options.colour) {
      text += "\033[1m";
    }
    append_group_header(text, group.dirs.size(), "directories", group.size, to_hex(group.hash));
    text += human_size(group.wasted());
    text += " wasted";
    if (options.colour) {
      text += "\033[0m";
    }
    text += end;
    for (const std::string& dir : group.dirs) {
      append_report_dir(text, dir, options);
      text += end;
    }
  }
}

}  // namespace

void TextReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  const char end = m_options.zero_terminated ? '\0' : '\n';
  bool first = true;
  append_dir_groups(text, result, m_options, first);
  for (const DuplicateGroup& group : result.groups) {
    if (!first) {
      text += end;
    }
    first = false;
    if (m_options.colour) {
      text += "\033[1m";
    }
    append_header(text, group, result.rf_under != 0);
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
