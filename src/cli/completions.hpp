#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace spindle::cli {

// Shell completion scripts generated from the CLI11 definition itself (`spindle completions
// SHELL`, run by the build), so they list exactly the commands, options and choices --help
// lists and cannot drift from them.

// What a value of an option (or a positional argument) completes to.
enum class ValueKind { none, file, directory, choice };

struct OptionSpec {
  std::vector<std::string> shorts;  // without the dash: "f"
  std::vector<std::string> longs;   // without the dashes: "format"
  std::string summary;              // the start of its description, one line
  std::string type_name;            // "FILE", "FORMAT", ...; empty for a flag
  bool takes_value = false;
  bool repeatable = false;
  ValueKind kind = ValueKind::none;
  std::vector<std::string> choices;  // for ValueKind::choice
};

struct CommandSpec {
  std::string name;  // empty for the root
  std::string summary;
  std::vector<OptionSpec> options;
  bool has_positional = false;
  OptionSpec positional;  // what the first positional argument completes to
  std::vector<CommandSpec> commands;
};

// The visible tree under `root` (hidden commands and options, whose group is empty, left out).
CommandSpec describe_cli(CLI::App& root);

std::string bash_completion(const CommandSpec& root);
std::string zsh_completion(const CommandSpec& root);
std::string fish_completion(const CommandSpec& root);

// The script for `shell` ("bash", "zsh" or "fish"); empty for another name.
std::string completion_script(const CommandSpec& root, std::string_view shell);

}  // namespace spindle::cli
