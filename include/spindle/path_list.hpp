#pragma once

#include <spindle/error.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// Read `file` ("-": standard input) as records ended by `separator` (a last record without one
// counts too) and hand each to `on_record`, in order, without holding the whole file. Returns the
// error that kept it from being read ("open"/"read"; the path is "standard input" for "-").
std::optional<FileError> read_records(const std::string& file, char separator,
                                      const std::function<void(std::string_view)>& on_record);

// The PATHs of a --files-from list.
struct PathList {
  std::vector<std::string> paths;  // in list order, each as written
  std::vector<FileError> errors;   // empty names ("FILE:N": empty file name), skipped
};

// Read a --files-from list: one PATH per line, or, with `null_separated`, per NUL-terminated
// record (as `find -print0`, `du --files0-from` and `xargs -0` use: the only way to name a file
// whose name holds a newline). "-" is standard input. A name is taken byte for byte (no
// trimming, no quoting); an empty one is an error of the list, not a PATH. Throws Fatal
// "FILE: open/read: <reason>" when the list cannot be read.
PathList read_path_list(const std::string& file, bool null_separated);

}  // namespace spindle
