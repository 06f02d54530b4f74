#pragma once

#include <string>
#include <vector>

namespace spindle {

// Read an --exclude-from list ("-": standard input): one GLOB per line, or per NUL-terminated
// record with `null_separated`, each meaning what one --exclude GLOB means. Empty entries and
// entries that start with '#' (comments) are skipped, in both forms; a GLOB that starts with '#'
// is written "[#]...". An entry is otherwise taken byte for byte (spaces and a '\r' are part of
// the GLOB). Throws Fatal "FILE: open/read: <reason>" when the list cannot be read: a run that
// silently excluded nothing would report what the user meant to leave out.
std::vector<std::string> read_glob_list(const std::string& file, bool null_separated);

}  // namespace spindle
