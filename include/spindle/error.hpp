#pragma once

#include <stdexcept>
#include <string>

namespace spindle {

// A file-level failure: a value that flows to stderr, the report's stats and the exit code.
// Never an exception.
struct FileError {
  std::string path;    // as walked; may hold any bytes but NUL
  int errnum = 0;      // errno, or 0 when `detail` explains it
  std::string op;      // what failed: "open", "read", "stat", "opendir", "changed", "loop"...
  std::string detail;  // extra words when errno does not say it ("size changed while reading")

  // "open: Permission denied" / "changed: size changed while reading".
  std::string reason() const;
};

// Unrecoverable failure of the run itself (not of one file): bad output file, broken invariant.
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace spindle
