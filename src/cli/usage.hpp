#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <span>

namespace spindle::cli {

// Usage errors, in one form whatever went wrong: a first line "spindle: <what was wrong and what
// is allowed>" (user text escaped for the terminal), then "Run 'spindle [COMMAND] --help' for
// usage.", exit status 2. CLI11's own texts ("Check xml value in {csv->2,...} FAILED", "A
// subcommand is required") name its internals, so none of them is printed as is.

// What CLI11 gets wrong before parsing starts: no arguments (a short usage), an unknown command
// (CLI11 says "A subcommand is required"), an unknown option before the command. Prints the
// message and returns the exit status if the command line is wrong; nullopt to go on parsing.
std::optional<int> check_command(CLI::App& root, std::span<char* const> args);

// Print the message for a CLI11 parse error and return the exit status (0 after --help or
// --version, which CLI11 prints itself).
int report_parse_error(CLI::App& root, const CLI::ParseError& error, std::span<char* const> args);

}  // namespace spindle::cli
