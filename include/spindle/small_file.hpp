#pragma once

#include <spindle/result.hpp>

#include <cstddef>
#include <string>

namespace spindle {

// Read a file spindle itself depends on and the user did not ask to hash: its own configuration
// (the calibration store), /proc and /sys entries. Whatever is found at `path`, this returns
// promptly and holds at most `max_bytes` in memory:
// - the open never blocks (O_NONBLOCK: a FIFO planted there opens at once and is then refused);
// - a symlink is followed (dotfiles managed by stow are symlinks), but only a regular file is
//   read: a FIFO, socket or device (/dev/zero, /dev/tty) is refused before any read;
// - more than `max_bytes` is refused, whatever st_size says (/proc files report 0).
// Errors name `path`: errno for open/read failures (ENOENT when it does not exist), op
// "not a regular file" or "too large" (errnum 0, detail saying what was found).
Result<std::string> read_small_file(const std::string& path, std::size_t max_bytes);

}  // namespace spindle
