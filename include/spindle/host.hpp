#pragma once

// This machine's name, as catalogs (`spindle hash --format json`) record it and as reports of
// `spindle group --catalog` tell this host's files from other hosts' files.

#include <string>
#include <string_view>

namespace spindle {

// gethostname(2); empty when it fails.
std::string local_host_name();

// The first line of a text report (spindle group --catalog) that names files of another host.
// The actions' report reader refuses a report that starts with it.
inline constexpr std::string_view k_catalog_report_marker = "# spindle catalog report: hosts ";

// Why actions refuse a report naming another host's files: `host` is that host.
std::string other_host_refusal(std::string_view host);

}  // namespace spindle
