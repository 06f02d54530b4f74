#pragma once

#include <sys/types.h>

namespace spindle {

// open(2) for a path of any length. A path shorter than PATH_MAX goes straight to open(2); a
// longer one (a walk below a deep tree builds them) is opened in steps shorter than PATH_MAX,
// split at '/': each intermediate directory with openat(O_PATH | O_DIRECTORY) relative to the
// one before, then the last step with `flags`. At most two descriptors are open at any moment,
// and only the returned one stays open.
// Symbolic links in intermediate components are followed, as open(2) follows them in a short
// path: a path from the walk may pass through a link the walk followed (-L), and every caller
// checks that what it opened is what the walk saw (fstat: directory identity, or InputFile's
// dev, ino and size), so a link planted after the walk is caught there, not here.
// Returns the descriptor, or -1 with errno set (ENAMETOOLONG only for a single name longer than
// PATH_MAX).
int open_long_path(const char* path, int flags, mode_t mode = 0);

}  // namespace spindle
