#pragma once

// The report of `spindle group --catalog`, written a group at a time as the merge decides them
// (catalog.hpp): nothing but the group being written is held, whatever the format. Groups come
// largest size first, then by hash (the merge's order), not by wasted space as in plain group.

#include <spindle/catalog.hpp>
#include <spindle/report.hpp>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

namespace spindle {

struct CatalogReportContext {
  std::vector<std::string> hosts;  // every host files came from (CatalogRun::hosts())
  std::string local_host;          // this host's name
};

class CatalogReportWriter : public CatalogGroupSink {
 public:
  // Ends the report: the JSON document's "stats", the jsonl stats line (options.stats_line).
  virtual void finish(const RunStats& stats, const std::vector<FileError>& errors) = 0;
};

// text, fdupes and csv write paths as `host:path` when more than one host is involved; json and
// jsonl give each file a "host" member and its path as that host has it. A text report naming another host's files
// starts with the line k_catalog_report_marker (host.hpp) + those hosts, so that the actions refuse it, as they refuse
// a JSON report whose files carry another host.
std::unique_ptr<CatalogReportWriter> make_catalog_writer(ReportFormat format, ReportOptions options,
                                                         CatalogReportContext context, std::ostream& out);

}  // namespace spindle
