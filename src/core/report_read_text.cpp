// Reading back group's default text report:
//
//   # 3 files of 1.5 KiB (1536 bytes), <32 hex digits>, 3.0 KiB wasted
//   path
//   path
//   path
//   <blank line between groups>
//
// With group --dirs, "# N directories of ..." groups come first (N directory paths each): actions
// act on file groups only, so they are read past (their files are in no file group).
//
// Names are raw bytes, one per line, so a name holding a newline cannot be told from two names:
// the header's count catches it (the group then has a line too many), and the report is rejected
// rather than acted on. Text reports carry no per-file state; actions then check size and content.
#include <spindle/host.hpp>
#include <spindle/report_read.hpp>

#include <charconv>

namespace spindle {

namespace {

struct Header {
  std::uint64_t count = 0;
  std::uint64_t size = 0;
  Digest hash;
};

bool read_uint(std::string_view text, std::uint64_t& value) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) {
    return false;
  }
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

// "# N files of HUMAN (BYTES bytes), HASH, HUMAN wasted"; nullopt when the line is not one.
std::optional<Header> parse_header(std::string_view line) {
  Header header;
  if (!line.starts_with("# ")) {
    return std::nullopt;
  }
  line.remove_prefix(2);
  const std::size_t files_of = line.find(" files of ");
  if (files_of == std::string_view::npos || !read_uint(line.substr(0, files_of), header.count)) {
    return std::nullopt;
  }
  const std::size_t open = line.find(" (", files_of);
  const std::size_t bytes = line.find(" bytes), ", open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || bytes == std::string_view::npos ||
      !read_uint(line.substr(open + 2, bytes - open - 2), header.size)) {
    return std::nullopt;
  }
  const std::string_view rest = line.substr(bytes + 9);
  std::optional<Digest> hash = digest_from_hex(rest.substr(0, 32));
  if (!hash || rest.substr(32, 2) != ", " || !rest.ends_with(" wasted")) {
    return std::nullopt;
  }
  header.hash = *hash;
  return header;
}

// "# N directories of HUMAN (BYTES bytes), HASH, HUMAN wasted" (group --dirs): N, or nullopt when
// the line is not one. Actions act on file groups only, so such a group is read past.
std::optional<std::uint64_t> parse_dir_header(std::string_view line) {
  if (!line.starts_with("# ")) {
    return std::nullopt;
  }
  line.remove_prefix(2);
  const std::size_t dirs_of = line.find(" directories of ");
  std::uint64_t count = 0;
  if (dirs_of == std::string_view::npos || !read_uint(line.substr(0, dirs_of), count) || !line.ends_with(" wasted")) {
    return std::nullopt;
  }
  return count;
}

}  // namespace

ParsedReport parse_text_report(std::string_view text, const std::string& name) {
  ParsedReport report;
  std::size_t at = 0;
  std::size_t line_number = 0;
  // The next line, without its '\n'; false at the end.
  const auto next_line = [&](std::string_view& line) {
    if (at >= text.size()) {
      return false;
    }
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    line = text.substr(at, end - at);
    at = end + 1;
    ++line_number;
    return true;
  };
  std::string_view line;
  bool expect_blank = false;
  while (next_line(line)) {
    if (line.empty()) {
      expect_blank = false;
      continue;
    }
    if (expect_blank) {
      throw ReportError(name, line_number,
                        "expected a blank line or the end after a group's paths (a name holding a newline "
                        "cannot be read from a text report: use group --format json)");
    }
    if (std::optional<std::uint64_t> dirs = parse_dir_header(line)) {
      for (std::uint64_t i = 0; i < *dirs; ++i) {
        if (!next_line(line) || line.empty()) {
          throw ReportError(name, line_number,
                            "the directory group header says " + std::to_string(*dirs) + " directories, but " +
                                std::to_string(i) + " follow");
        }
      }
      expect_blank = true;
      continue;
    }
    if (line.starts_with(k_catalog_report_marker)) {
      std::string_view hosts = line.substr(k_catalog_report_marker.size());
      throw ReportError(name, line_number, other_host_refusal(hosts.substr(0, hosts.find_first_of(", "))));
    }
    std::optional<Header> header = parse_header(line);
    // report_text.cpp ends the header of every group of --rf-under/--unique with its copies.
    if (!header && line.starts_with("# ") && (line.ends_with(" copy") || line.ends_with(" copies"))) {
      throw ReportError(name, line_number,
                        "a report of files with fewer than N copies (spindle group --rf-under or --unique): it lists "
                        "what lacks copies, not duplicates to act on; run spindle group without them for a report "
                        "of duplicates");
    }
    if (!header) {
      throw ReportError(name, line_number, "not a group header ('# N files of SIZE (BYTES bytes), HASH, ...')");
    }
    if (header->count < 2) {
      throw ReportError(name, line_number, "a group of fewer than two files");
    }
    ReportGroup group;
    group.size = header->size;
    group.hash = header->hash;
    group.line = line_number;
    for (std::uint64_t i = 0; i < header->count; ++i) {
      if (!next_line(line) || line.empty()) {
        throw ReportError(name, line_number,
                          "the group header says " + std::to_string(header->count) + " files, but " +
                              std::to_string(i) + (i == 1 ? " path follows" : " paths follow"));
      }
      if (line.find('\0') != std::string_view::npos) {
        throw ReportError(name, line_number, "a path holding a NUL byte");
      }
      ReportFile file;
      file.path = std::string(line);
      group.files.push_back(std::move(file));
    }
    report.groups.push_back(std::move(group));
    expect_blank = true;
  }
  return report;
}

}  // namespace spindle
