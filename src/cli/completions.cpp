// Shell completion scripts generated from the CLI11 definition (see completions.hpp). Each
// writer turns the same CommandSpec tree into one shell's idiom; nothing here names a flag.
#include "completions.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace spindle::cli {

namespace {

// The start of a description, for a menu: up to the first sentence break, at most 72 bytes.
std::string summarize(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  for (std::string_view stop : {". ", "; ", " ("}) {
    if (std::size_t at = text.find(stop); at != std::string::npos) {
      text.resize(at);
    }
  }
  if (!text.empty() && text.back() == '.') {
    text.pop_back();
  }
  constexpr std::size_t k_width = 72;
  if (text.size() > k_width) {
    std::size_t cut = text.rfind(' ', k_width - 3);
    text.resize(cut == std::string::npos ? k_width - 3 : cut);
    text += "...";
  }
  return text;
}

// The choices of an option made by add_choice_option (flags.cpp): a validator whose name is the
// list "a, b, c", as expected_value() reads it too.
std::vector<std::string> choices_of(CLI::Option& option) {
  std::vector<std::string> choices;
  std::string list;
  try {
    if (CLI::Validator* validator = option.get_validator(0); validator != nullptr) {
      list = validator->get_name();
    }
  } catch (const CLI::OptionNotFound&) {
    return choices;  // no validator: not a choice option
  }
  std::size_t start = 0;
  while (start < list.size()) {
    std::size_t end = list.find(", ", start);
    choices.push_back(list.substr(start, end == std::string::npos ? std::string::npos : end - start));
    start = end == std::string::npos ? list.size() : end + 2;
  }
  return choices;
}

ValueKind kind_of_type(const std::string& type) {
  if (type == "FILE" || type == "PATH" || type == "REPORT" || type == "LISTING") {
    return ValueKind::file;
  }
  if (type == "DIR") {
    return ValueKind::directory;
  }
  return ValueKind::none;
}

OptionSpec describe_option(CLI::Option& option) {
  OptionSpec spec;
  spec.shorts = option.get_snames();
  spec.longs = option.get_lnames();
  spec.summary = summarize(option.get_description());
  // A flag expects no value (CLI11 sets expected(0) for add_flag and the help and version flags).
  spec.takes_value = option.get_expected_max() > 0;
  if (spec.takes_value) {
    spec.type_name = option.get_type_name();
    spec.repeatable = option.get_expected_max() > 1;
    spec.choices = choices_of(option);
    spec.kind = spec.choices.empty() ? kind_of_type(spec.type_name) : ValueKind::choice;
  }
  return spec;
}

void add_options(CLI::App& app, CommandSpec& spec) {
  for (CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) {
      continue;  // hidden
    }
    if (option->get_snames().empty() && option->get_lnames().empty()) {
      if (!spec.has_positional) {
        spec.has_positional = true;
        spec.positional = describe_option(*option);
      }
      continue;
    }
    spec.options.push_back(describe_option(*option));
  }
  // Option groups (add_option_group) are nameless subcommands whose options belong to `app`.
  for (CLI::App* group : app.get_subcommands([](CLI::App* sub) { return sub->get_name().empty(); })) {
    add_options(*group, spec);
  }
}

CommandSpec describe_command(CLI::App& app) {
  CommandSpec spec;
  spec.name = app.get_name();
  spec.summary = summarize(app.get_description());
  add_options(app, spec);
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return !s->get_name().empty(); })) {
    if (!sub->get_group().empty()) {
      spec.commands.push_back(describe_command(*sub));
    }
  }
  return spec;
}

// Every spelling of an option with its dashes: "-f", "--format".
std::vector<std::string> spellings(const OptionSpec& option) {
  std::vector<std::string> names;
  for (const std::string& s : option.shorts) {
    names.push_back("-" + s);
  }
  for (const std::string& l : option.longs) {
    names.push_back("--" + l);
  }
  return names;
}

std::string join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const std::string& word : words) {
    out += (out.empty() ? "" : std::string(separator)) + word;
  }
  return out;
}

// Text inside single quotes for sh-like shells (bash, zsh): ' becomes '\''.
std::string single_quoted_sh(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  }
  return out + "'";
}

// ---- bash ------------------------------------------------------------------------------------

// The `case "$prev"` arms that complete an option's value; options whose value has no useful
// completion (a size, a glob) complete to nothing rather than to file names.
std::string bash_value_arms(const CommandSpec& command, const std::string& indent) {
  std::string out;
  for (const OptionSpec& option : command.options) {
    if (!option.takes_value) {
      continue;
    }
    out += indent + join(spellings(option), "|") + ")\n";
    switch (option.kind) {
      case ValueKind::choice:
        out += indent + "  _spindle_words " + single_quoted_sh(join(option.choices, " ")) + "\n";
        break;
      case ValueKind::file:
        out += indent + "  _spindle_files\n";
        break;
      case ValueKind::directory:
        out += indent + "  _spindle_dirs\n";
        break;
      case ValueKind::none:
        break;
    }
    out += indent + "  return ;;\n";
  }
  return out;
}

std::string bash_positional(const CommandSpec& command, const std::string& indent) {
  if (!command.has_positional) {
    return indent + "return\n";
  }
  switch (command.positional.kind) {
    case ValueKind::choice:
      return indent + "_spindle_words " + single_quoted_sh(join(command.positional.choices, " ")) + "\n";
    case ValueKind::directory:
      return indent + "_spindle_dirs\n";
    case ValueKind::file:
    case ValueKind::none:
      return indent + "_spindle_files\n";
  }
  return "";
}

std::string all_spellings(const CommandSpec& command) {
  std::vector<std::string> words;
  for (const OptionSpec& option : command.options) {
    for (const std::string& name : spellings(option)) {
      words.push_back(name);
    }
  }
  return join(words, " ");
}

}  // namespace

CommandSpec describe_cli(CLI::App& root) {
  return describe_command(root);
}

std::string bash_completion(const CommandSpec& root) {
  std::vector<std::string> names;
  for (const CommandSpec& command : root.commands) {
    names.push_back(command.name);
  }
  std::string out =
      "# bash completion for spindle. Generated by `spindle completions bash` from the command\n"
      "# line definition; do not edit.\n"
      "_spindle_words() {\n"
      "  local IFS=$' \\t\\n'\n"
      "  mapfile -t COMPREPLY < <(compgen -W \"$1\" -- \"$cur\")\n"
      "}\n"
      "_spindle_files() {\n"
      "  compopt -o filenames 2>/dev/null\n"
      "  mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
      "}\n"
      "_spindle_dirs() {\n"
      "  compopt -o filenames 2>/dev/null\n"
      "  mapfile -t COMPREPLY < <(compgen -d -- \"$cur\")\n"
      "}\n"
      "_spindle() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} equals=\n"
      "  COMPREPLY=()\n"
      "  # --name=value: complete the value as if it were a separate word. Readline splits at '='\n"
      "  # (COMP_WORDBREAKS); where it does not, the word keeps its --name= in front.\n"
      "  if [[ $cur == --*=* ]]; then\n"
      "    prev=${cur%%=*}\n"
      "    equals=$prev=\n"
      "    cur=${cur#*=}\n"
      "  elif [[ $cur == = && $prev == --* ]]; then\n"
      "    cur=\n"
      "  elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
      "    prev=${COMP_WORDS[COMP_CWORD-2]}\n"
      "  fi\n"
      "  _spindle_complete\n"
      "  if [[ -n $equals ]]; then\n"
      "    COMPREPLY=(\"${COMPREPLY[@]/#/$equals}\")\n"
      "  fi\n"
      "}\n"
      "# Fills COMPREPLY for $cur after $prev (the caller's locals).\n"
      "_spindle_complete() {\n"
      "  local command= i\n"
      "  # The command is the first word that is not an option (spindle's own options take no value).\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    if [[ ${COMP_WORDS[i]} != -* ]]; then\n"
      "      command=${COMP_WORDS[i]}\n"
      "      break\n"
      "    fi\n"
      "  done\n"
      "  case $command in\n"
      "    '')\n"
      "      if [[ $cur == -* ]]; then\n"
      "        _spindle_words " +
      single_quoted_sh(all_spellings(root)) +
      "\n"
      "      else\n"
      "        _spindle_words " +
      single_quoted_sh(join(names, " ")) +
      "\n"
      "      fi\n"
      "      ;;\n";
  for (const CommandSpec& command : root.commands) {
    out += "    " + command.name + ")\n";
    out += "      case $prev in\n" + bash_value_arms(command, "        ") + "      esac\n";
    out += "      if [[ $cur == -* ]]; then\n";
    out += "        _spindle_words " + single_quoted_sh(all_spellings(command)) + "\n";
    out += "        return\n";
    out += "      fi\n";
    out += bash_positional(command, "      ");
    out += "      ;;\n";
  }
  out +=
      "  esac\n"
      "}\n"
      "complete -F _spindle spindle\n";
  return out;
}

// ---- zsh -------------------------------------------------------------------------------------

namespace {

// A description inside an _arguments spec's [...]: brackets and colons are syntax there.
std::string zsh_description(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

std::string zsh_action(const OptionSpec& option) {
  switch (option.kind) {
    case ValueKind::choice:
      return "(" + join(option.choices, " ") + ")";
    case ValueKind::file:
      return "_files";
    case ValueKind::directory:
      return "_files -/";
    case ValueKind::none:
      return " ";
  }
  return " ";
}

// One _arguments spec per option: '(-f --format)'{-f,--format}'[desc]:FORMAT:(text json)'.
std::string zsh_option_spec(const OptionSpec& option) {
  const std::vector<std::string> names = spellings(option);
  std::string tail = "[" + zsh_description(option.summary) + "]";
  if (option.takes_value) {
    tail += ":" + zsh_description(option.type_name) + ":" + zsh_action(option);
  }
  std::string prefix = option.repeatable ? "*" : "";
  if (names.size() == 1) {
    return single_quoted_sh(prefix + names[0] + tail);
  }
  std::string exclusion = option.repeatable ? "" : "(" + join(names, " ") + ")";
  return single_quoted_sh(exclusion + prefix) + "{" + join(names, ",") + "}" + single_quoted_sh(tail);
}

std::string zsh_function_name(const std::string& command) {
  std::string name = "_spindle_" + command;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

}  // namespace

std::string zsh_completion(const CommandSpec& root) {
  std::string out =
      "#compdef spindle\n"
      "# zsh completion for spindle. Generated by `spindle completions zsh` from the command line\n"
      "# definition; do not edit.\n\n";
  for (const CommandSpec& command : root.commands) {
    out += zsh_function_name(command.name) + "() {\n  _arguments -s -S";
    for (const OptionSpec& option : command.options) {
      out += " \\\n    " + zsh_option_spec(option);
    }
    if (command.has_positional) {
      // A positional whose values have no better completion (none here yet) completes file names.
      OptionSpec files;
      files.kind = ValueKind::file;
      const OptionSpec& positional = command.positional.kind == ValueKind::none ? files : command.positional;
      out += " \\\n    " +
             single_quoted_sh("*:" + zsh_description(command.positional.type_name) + ":" + zsh_action(positional));
    }
    out += "\n}\n\n";
  }
  out += "_spindle() {\n  local curcontext=$curcontext state line ret=1\n  typeset -A opt_args\n  _arguments -C";
  for (const OptionSpec& option : root.options) {
    // Root options (--help, --version) end the command line.
    const std::vector<std::string> names = spellings(option);
    std::string tail = "[" + zsh_description(option.summary) + "]";
    if (names.size() == 1) {
      out += " \\\n    " + single_quoted_sh("(- *)" + names[0] + tail);
    } else {
      out += " \\\n    " + single_quoted_sh("(- *)") + "{" + join(names, ",") + "}" + single_quoted_sh(tail);
    }
  }
  out +=
      " \\\n    '1:command:->command' \\\n    '*::argument:->argument' && ret=0\n"
      "  case $state in\n"
      "    command)\n"
      "      local -a commands\n"
      "      commands=(\n";
  for (const CommandSpec& command : root.commands) {
    out += "        " + single_quoted_sh(command.name + ":" + command.summary) + "\n";
  }
  out +=
      "      )\n"
      "      _describe -t commands 'spindle command' commands && ret=0\n"
      "      ;;\n"
      "    argument)\n"
      "      curcontext=${curcontext%:*:*}:spindle-$line[1]:\n"
      "      case $line[1] in\n";
  for (const CommandSpec& command : root.commands) {
    out += "        " + command.name + ") " + zsh_function_name(command.name) + " && ret=0 ;;\n";
  }
  out +=
      "      esac\n"
      "      ;;\n"
      "  esac\n"
      "  return ret\n"
      "}\n\n"
      "_spindle \"$@\"\n";
  return out;
}

// ---- fish ------------------------------------------------------------------------------------

namespace {

// fish single quotes: only \ and ' are escaped.
std::string fish_quoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

std::string fish_names(const OptionSpec& option) {
  std::string out;
  for (const std::string& s : option.shorts) {
    out += " -s " + s;
  }
  for (const std::string& l : option.longs) {
    out += " -l " + l;
  }
  return out;
}

std::string fish_value(const OptionSpec& option) {
  switch (option.kind) {
    case ValueKind::choice:
      return " -x -a " + fish_quoted(join(option.choices, " "));
    case ValueKind::file:
      return " -r -F";
    case ValueKind::directory:
      return " -x -a '(__fish_complete_directories)'";
    case ValueKind::none:
      return " -x";
  }
  return "";
}

}  // namespace

std::string fish_completion(const CommandSpec& root) {
  std::string out =
      "# fish completion for spindle. Generated by `spindle completions fish` from the command line\n"
      "# definition; do not edit.\n"
      "complete -c spindle -f\n";
  for (const OptionSpec& option : root.options) {
    out += "complete -c spindle -n __fish_use_subcommand" + fish_names(option) + " -d " + fish_quoted(option.summary) +
           "\n";
  }
  for (const CommandSpec& command : root.commands) {
    out += "complete -c spindle -n __fish_use_subcommand -a " + command.name + " -d " + fish_quoted(command.summary) +
           "\n";
  }
  for (const CommandSpec& command : root.commands) {
    const std::string condition = " -n " + fish_quoted("__fish_seen_subcommand_from " + command.name);
    for (const OptionSpec& option : command.options) {
      out += "complete -c spindle" + condition + fish_names(option) + (option.takes_value ? fish_value(option) : "") +
             " -d " + fish_quoted(option.summary) + "\n";
    }
    if (command.has_positional) {
      const OptionSpec& positional = command.positional;
      if (positional.kind == ValueKind::choice) {
        out += "complete -c spindle" + condition + " -a " + fish_quoted(join(positional.choices, " ")) + "\n";
      } else if (positional.kind == ValueKind::directory) {
        out += "complete -c spindle" + condition + " -a '(__fish_complete_directories)'\n";
      } else {
        out += "complete -c spindle" + condition + " -F\n";
      }
    }
  }
  return out;
}

std::string completion_script(const CommandSpec& root, std::string_view shell) {
  if (shell == "bash") {
    return bash_completion(root);
  }
  if (shell == "zsh") {
    return zsh_completion(root);
  }
  if (shell == "fish") {
    return fish_completion(root);
  }
  return "";
}

}  // namespace spindle::cli
