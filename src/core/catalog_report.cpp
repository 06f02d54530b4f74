// Writers of group --catalog's report (catalog_report.hpp), in each --format, a group at a time.
#include "report_formats.hpp"

#include <spindle/catalog_report.hpp>
#include <spindle/host.hpp>
#include <spindle/log.hpp>
#include <spindle/units.hpp>

namespace spindle {

namespace {

class Writer final : public CatalogReportWriter {
 public:
  Writer(ReportFormat format, ReportOptions options, CatalogReportContext context, std::ostream& out)
      : m_format(format), m_options(options), m_context(std::move(context)), m_chunks(out) {
    m_prefix_hosts = m_context.hosts.size() > 1;
    std::string others;
    for (const std::string& host : m_context.hosts) {
      if (host != m_context.local_host) {
        others += others.empty() ? "" : ", ";
        others += host;
      }
    }
    std::string& text = m_chunks.buffer();
    switch (m_format) {
      case ReportFormat::text:
        if (!others.empty()) {
          text += k_catalog_report_marker;
          text += m_options.escape_names ? escape_for_terminal(others) : others;
          text += m_options.zero_terminated ? '\0' : '\n';
          m_first = false;  // a blank line then separates the first group, as between groups
        }
        break;
      case ReportFormat::csv:
        text += "size,hash,count,path\n";
        break;
      case ReportFormat::json:
        text += "{\"groups\":[";
        break;
      case ReportFormat::fdupes:
      case ReportFormat::jsonl:
        break;
    }
  }

  void add(const CatalogGroup& group) override {
    std::string& text = m_chunks.buffer();
    const char end = m_options.zero_terminated ? '\0' : '\n';
    switch (m_format) {
      case ReportFormat::text:
        if (!m_first) {
          text += end;
        }
        text += m_options.colour ? "\033[1m" : "";
        append_group_header(text, group.files.size(), "files", group.size, to_hex(group.hash));
        text += human_size(group.size * (group.files.size() - 1));
        text += " wasted";
        text += m_options.colour ? "\033[0m" : "";
        text += end;
        for (const CatalogFile& file : group.files) {
          append_name(text, file);
          text += end;
        }
        break;
      case ReportFormat::fdupes:
        for (const CatalogFile& file : group.files) {
          append_name(text, file);
          text += end;
        }
        text += end;
        break;
      case ReportFormat::csv:
        for (const CatalogFile& file : group.files) {
          append_uint(text, group.size);
          text += ',';
          text += to_hex(group.hash);
          text += ',';
          append_uint(text, group.files.size());
          text += ',';
          std::string name;
          append_name(name, file);
          append_csv_field(text, name);
          text += '\n';
        }
        break;
      case ReportFormat::json:
        text += m_first ? "" : ",";
        append_json(text, group);
        break;
      case ReportFormat::jsonl:
        append_json(text, group);
        text += '\n';
        break;
    }
    m_first = false;
    m_chunks.maybe_flush();
  }

  void finish(const RunStats& stats, const std::vector<FileError>& errors) override {
    std::string& text = m_chunks.buffer();
    if (m_format == ReportFormat::json || (m_format == ReportFormat::jsonl && m_options.stats_line)) {
      GroupResult result;  // what append_json_stats reads: the stats and the errors
      result.stats = stats;
      result.errors = errors;
      text += m_format == ReportFormat::json ? "],\"stats\":{" : "{\"stats\":{";
      append_json_stats(text, result);
      text += "}}\n";
    }
    m_chunks.finish();
  }

 private:
  // `host:path` when several hosts are involved, the path alone otherwise; escaped for a terminal.
  void append_name(std::string& out, const CatalogFile& file) const {
    std::string name = m_prefix_hosts ? file.host + ":" + file.path : file.path;
    out += m_options.escape_names ? escape_for_terminal(name) : name;
  }

  // As a JSON report's group (report_json.cpp), each file with its "host"; the path is the
  // file's own on that host, never prefixed ("host" says whose it is, unambiguously).
  void append_json(std::string& out, const CatalogGroup& group) const {
    out += "{\"size\":";
    append_uint(out, group.size);
    out += ",\"hash\":\"";
    out += to_hex(group.hash);
    out += "\",\"files\":[";
    for (std::size_t f = 0; f < group.files.size(); ++f) {
      const CatalogFile& file = group.files[f];
      out += f == 0 ? "{\"path\":\"" : ",{\"path\":\"";
      append_json_escaped(out, file.path);
      out += "\",\"host\":\"";
      append_json_escaped(out, file.host);
      out += "\",\"root\":0,\"device\":";
      append_uint(out, file.device);
      out += ",\"inode\":";
      append_uint(out, file.inode);
      out += ",\"mtime_ns\":";
      out += std::to_string(file.mtime_ns);
      out += ",\"ctime_ns\":";
      out += std::to_string(file.ctime_ns);
      out += '}';
    }
    out += "]}";
  }

  ReportFormat m_format;
  ReportOptions m_options;
  CatalogReportContext m_context;
  ChunkedOutput m_chunks;
  bool m_prefix_hosts = false;
  bool m_first = true;
};

}  // namespace

std::unique_ptr<CatalogReportWriter> make_catalog_writer(ReportFormat format, ReportOptions options,
                                                         CatalogReportContext context, std::ostream& out) {
  return std::make_unique<Writer>(format, options, std::move(context), out);
}

}  // namespace spindle
