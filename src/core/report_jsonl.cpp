// --format jsonl: one JSON object per line, each a group as the JSON report writes it, so a
// report larger than memory can be written while the run goes on and read a line at a time.
#include "report_formats.hpp"

#include <spindle/report.hpp>

#include <algorithm>
#include <vector>

namespace spindle {

namespace {

void append_line(std::string& out, const FileTable& files, std::uint64_t size, const Digest& hash,
                 std::span<const FileIndex> members) {
  append_json_group(out, files, size, hash, members);
  out += '\n';
}

// Writes each group as it arrives: sorted within the line (by path, as in every report), and
// handed to the stream at once, so a reader of a pipe sees groups while the run goes on.
class JsonlSink final : public GroupSink {
 public:
  explicit JsonlSink(std::ostream& out) : m_out(out) {}
  void add(const FileTable& files, std::span<const FileIndex> members, const Digest& hash) override {
    std::vector<FileIndex> sorted(members.begin(), members.end());
    std::sort(sorted.begin(), sorted.end(), [&](FileIndex a, FileIndex b) { return files.compare_paths(a, b) < 0; });
    m_line.clear();
    append_line(m_line, files, files[sorted.front()].size, hash, sorted);
    m_out.write(m_line.data(), static_cast<std::streamsize>(m_line.size()));
    m_out.flush();
  }

 private:
  std::ostream& m_out;
  std::string m_line;
};

}  // namespace

void JsonlReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  for (const DuplicateGroup& group : result.groups) {
    append_line(text, result.files, group.size, group.hash, group.files);
    chunks.maybe_flush();
  }
  if (m_options.stats_line) {
    text += "{\"stats\":{";
    append_json_stats(text, result);
    text += "}}\n";
  }
  chunks.finish();
}

std::unique_ptr<GroupSink> make_jsonl_sink(std::ostream& out) {
  return std::make_unique<JsonlSink>(out);
}

}  // namespace spindle
