#include "usage.hpp"

#include "exit_code.hpp"
#include "flags.hpp"

#include <spindle/log.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::cli {

namespace {

bool is_option(std::string_view arg) {
  return arg.size() > 1 && arg[0] == '-';
}

bool is_root_flag(std::string_view arg) {
  return arg == "-h" || arg == "--help" || arg == "-V" || arg == "--version";
}

// The subcommand the user named (the first argument that is not an option), or nullptr.
CLI::App* named_command(CLI::App& root, std::span<char* const> args) {
  for (const char* arg : args) {
    if (std::string_view(arg) == "--") {
      return nullptr;
    }
    if (!is_option(arg)) {
      for (CLI::App* command : root.get_subcommands({})) {
        if (command->get_name() == arg) {
          return command;
        }
      }
      return nullptr;
    }
  }
  return nullptr;
}

std::string in_quotes(std::string_view text) {
  return "'" + escape_for_terminal(text) + "'";
}

// Each line escaped on its own: a message may span lines (the --threads grammar), user text in
// it may not start one.
std::string escaped_lines(std::string_view text) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find('\n', start);
    out += escape_for_terminal(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) {
      return out;
    }
    out += '\n';
    start = end + 1;
  }
}

int usage_error(const std::string& message, const std::string& detail, const CLI::App* command) {
  std::string text = "spindle: " + message + "\n" + detail;
  text += "Run 'spindle" + (command != nullptr ? " " + command->get_name() : std::string()) + " --help' for usage.\n";
  std::fputs(text.c_str(), stderr);
  return k_exit_usage;
}

std::string command_list(CLI::App& root) {
  std::string text = "Commands:\n";
  for (CLI::App* command : root.get_subcommands({})) {
    if (command->get_group().empty()) {
      continue;  // hidden (completions)
    }
    std::string name = command->get_name();
    text += "  " + name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') + command->get_description() + "\n";
  }
  return text;
}

// The long (or only) spelling of the option CLI11 named in a message ("--format", "stats").
CLI::Option* find_option(CLI::App* command, std::string name) {
  if (command == nullptr) {
    return nullptr;
  }
  if (!name.starts_with("-")) {
    name = (name.size() == 1 ? "-" : "--") + name;
  }
  return command->get_option_no_throw(name);
}

std::string option_name(CLI::Option* option, const std::string& fallback) {
  return option != nullptr ? option->get_name() : fallback;
}

// CLI11 2.1's ArgumentMismatch texts: "NAME: 1 required TYPE missing", "NAME: At Most 1 required
// but received 2", "NAME was given a disallowed flag override".
std::string argument_mismatch(CLI::App* command, const std::string& what) {
  if (std::size_t at = what.find(" was given a disallowed flag override"); at != std::string::npos) {
    return option_name(find_option(command, what.substr(0, at)), what.substr(0, at)) + " takes no value";
  }
  std::size_t colon = what.find(": ");
  if (colon == std::string::npos) {
    return escaped_lines(what);
  }
  const std::string name = what.substr(0, colon);
  CLI::Option* option = find_option(command, name);
  const std::string rest = what.substr(colon + 2);
  if (rest.ends_with(" missing")) {
    return option_name(option, name) + ": missing value (" +
           (option != nullptr ? expected_value(*option) : std::string("a value")) + ")";
  }
  if (rest.starts_with("At Most ")) {
    return option_name(option, name) + " given more than once (it takes one value)";
  }
  return escaped_lines(what);
}

// CLI11 2.1's ConversionError: "Could not convert: NAME = VALUE", "NAME: too many inputs for a
// flag", "NAME: Should be true/false or a number".
std::string conversion_error(CLI::App* command, const std::string& what) {
  static constexpr std::string_view k_prefix = "Could not convert: ";
  if (what.starts_with(k_prefix)) {
    const std::string rest = what.substr(k_prefix.size());
    std::size_t equals = rest.find(" = ");
    if (equals != std::string::npos) {
      const std::string name = rest.substr(0, equals);
      CLI::Option* option = find_option(command, name);
      std::string message = option_name(option, name) + ": " + in_quotes(rest.substr(equals + 3)) + " is not valid";
      if (option != nullptr && option->get_expected_min() > 0) {
        message += " (expected " + expected_value(*option) + ")";
      } else {
        message += " (it takes no value)";
      }
      return message;
    }
  }
  std::size_t colon = what.find(": ");
  if (colon != std::string::npos) {
    const std::string name = what.substr(0, colon);
    return option_name(find_option(command, name), name) + " takes no value";
  }
  return escaped_lines(what);
}

// Edits (insert, delete, replace a character) between two short names.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// " (did you mean --stats?)" for a long option one or two typos away from one of `command`'s.
std::string suggestion(const CLI::App* command, std::string_view unknown) {
  if (command == nullptr || !unknown.starts_with("--")) {
    return "";
  }
  const std::string_view name =
      unknown.substr(2, unknown.find('=') == std::string_view::npos ? std::string_view::npos : unknown.find('=') - 2);
  std::string best;
  std::size_t best_distance = name.size() < 5 ? 1 : 2;
  for (const CLI::Option* option : command->get_options()) {
    for (const std::string& known : option->get_lnames()) {
      const std::size_t distance = edit_distance(name, known);
      if (distance <= best_distance && (best.empty() || distance < best_distance)) {
        best = known;
        best_distance = distance;
      }
    }
  }
  return best.empty() ? "" : " (did you mean --" + best + "?)";
}

std::string extras_error(CLI::App& root, CLI::App* command, std::span<char* const> args) {
  std::vector<std::string> extras = command != nullptr ? command->remaining() : root.remaining();
  if (extras.empty()) {
    return "unexpected arguments";
  }
  // CLI11 reads `-v=x` as the flag -v, then an unknown "-=x": name what the user wrote.
  if (extras.front().starts_with("-=")) {
    for (const char* arg : args) {
      std::string_view text(arg);
      if (text.size() > 2 && text[0] == '-' && text[1] != '-' && text.substr(2) == extras.front().substr(1)) {
        return in_quotes(text) + ": -" + escape_for_terminal(text.substr(1, 1)) + " takes no value";
      }
    }
  }
  std::string list;
  bool all_options = true;
  for (const std::string& extra : extras) {
    list += (list.empty() ? "" : ", ") + in_quotes(extra);
    all_options = all_options && is_option(extra);
  }
  const bool several = extras.size() > 1;
  if (all_options) {
    return std::string(several ? "unknown options " : "unknown option ") + list +
           (several ? "" : suggestion(command, extras.front()));
  }
  return std::string(several ? "unexpected arguments " : "unexpected argument ") + list;
}

// CLI11 2.1's RequiresError ("--system requires --calibrate") and ExcludesError ("--files-from
// excludes paths"), with the fix; the positional "paths" is what the user knows as PATH.
std::string pairing_error(const std::string& what) {
  const auto named = [](std::string name) { return name == "paths" ? std::string("PATH arguments") : name; };
  for (const std::string_view verb : {" requires ", " excludes "}) {
    const std::size_t at = what.find(verb);
    if (at == std::string::npos) {
      continue;
    }
    const std::string first = named(what.substr(0, at));
    const std::string second = named(what.substr(at + verb.size()));
    if (verb == " requires ") {
      return escape_for_terminal(first + " needs " + second + ": add " + second + ", or leave " + first + " out");
    }
    return escape_for_terminal(first + " cannot be used with " + second + ": give one or the other");
  }
  return escaped_lines(what);
}

}  // namespace

std::optional<int> check_command(CLI::App& root, std::span<char* const> args) {
  const std::string usage = "Usage: spindle <command> [OPTIONS] [PATH...]\n" + command_list(root);
  if (args.empty()) {
    return usage_error("missing command", usage, nullptr);
  }
  for (const char* arg : args) {
    std::string_view text(arg);
    if (is_root_flag(text) || text == "--") {
      return std::nullopt;  // CLI11 prints the help or the version
    }
    if (is_option(text)) {
      return usage_error("unknown option " + in_quotes(text), "", nullptr);
    }
    if (named_command(root, args) == nullptr) {
      return usage_error("unknown command " + in_quotes(text), command_list(root), nullptr);
    }
    return std::nullopt;
  }
  return usage_error("missing command", usage, nullptr);
}

int report_parse_error(CLI::App& root, const CLI::ParseError& error, std::span<char* const> args) {
  if (dynamic_cast<const CLI::Success*>(&error) != nullptr) {
    root.exit(error);  // --help or --version
    return k_exit_ok;
  }
  CLI::App* command = named_command(root, args);
  const std::string what = error.what();
  std::string message;
  // By type, not by get_name(): an ExtrasError is named after the subcommand that raised it.
  if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) {
    // Ours ("--format: 'xml' is not one of text, ...") with the user's text in it.
    message = escaped_lines(what);
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&error) != nullptr) {
    message = argument_mismatch(command, what);
  } else if (dynamic_cast<const CLI::ConversionError*>(&error) != nullptr) {
    message = conversion_error(command, what);
  } else if (dynamic_cast<const CLI::ExtrasError*>(&error) != nullptr) {
    message = extras_error(root, command, args);
  } else if (dynamic_cast<const CLI::RequiresError*>(&error) != nullptr ||
             dynamic_cast<const CLI::ExcludesError*>(&error) != nullptr) {
    message = pairing_error(what);
  } else if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && command == nullptr) {
    message = "missing command";
  } else {
    message = escaped_lines(what);
  }
  return usage_error(message, "", command);
}

}  // namespace spindle::cli
