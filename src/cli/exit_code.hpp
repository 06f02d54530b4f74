#pragma once

namespace spindle::cli {

// Exit status of every subcommand (documented in the man page and README).
enum ExitCode : int {
  k_exit_ok = 0,
  k_exit_file_errors = 1,  // some files could not be read; the report covers the rest
  k_exit_usage = 2,        // bad flags or arguments
  k_exit_fatal = 3,        // the run itself failed (cannot write the report, internal error)
  k_exit_interrupted = 130,
  // spindle hash --check (as documented there): a file does not match its listed hash, or a
  // listing has no well-formed line; a listed file (or a listing) is missing or unreadable.
  k_exit_check_mismatch = 1,
  k_exit_check_unreadable = 2,
};

}  // namespace spindle::cli
