// `spindle completions bash|zsh|fish [-o FILE]`: a hidden command that prints the completion
// script for a shell, generated from the CLI11 tree (completions.hpp). The build runs it to make
// the scripts it installs, so they always match the flags of the binary they ship with.
#include "commands.hpp"
#include "completions.hpp"
#include "exit_code.hpp"
#include "output.hpp"

#include <memory>
#include <string>

namespace spindle::cli {

namespace {

struct CompletionOptions {
  std::string shell;
  std::string output;
};

}  // namespace

Command register_completions(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("completions", "Print the completion script for a shell");
  app->group("");  // hidden: for packagers and the build, not in `spindle --help` or the man pages
  auto options = std::make_shared<CompletionOptions>();
  app->add_option("shell", options->shell, "bash, zsh or fish")
      ->check(CLI::IsMember({"bash", "zsh", "fish"}))
      ->required();
  app->add_option("-o,--output", options->output, "Write the script to FILE instead of stdout")->type_name("FILE");
  return {app, [&root, &context, options] {
            // Walked when run, not when registered: every command and flag is there by now.
            const std::string script = completion_script(describe_cli(root), options->shell);
            OutputFile output = open_report(options->output, context.cancel);
            return output.commit([&](std::ostream& out) { out << script; }) ? k_exit_ok : k_exit_interrupted;
          }};
}

}  // namespace spindle::cli
