// spindle: the thin command line over spindle_core. Parses, dispatches, maps errors to exit codes.
#include "commands.hpp"
#include "exit_code.hpp"
#include "help_format.hpp"
#include "signals.hpp"
#include "usage.hpp"
#include "version.hpp"

#include <spindle/log.hpp>

#include <CLI/CLI.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <exception>
#include <malloc.h>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

namespace {

int run(int argc, char** argv) {
  using namespace spindle::cli;
  // glibc gives each of the many reader threads its own malloc arena; their buffers then pin
  // pages in a dozen half-empty heaps. Two arenas: 1 MiB less peak RSS on /usr/share (57k
  // files), and no hot path here allocates enough to contend.
  mallopt(M_ARENA_MAX, 2);
  // glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), so the
  // stages' transient arrays (sort keys, 8 bytes per file) come back as heap that a later
  // array cannot reuse and RSS keeps. A fixed threshold returns them to the system when freed:
  // 2.9 MB less peak RSS on a million files.
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
  // Every reader thread holds a file open and each one-thread pool keeps 32 open ahead of it;
  // with many disks the usual soft limit of 1024 descriptors is near. The hard limit is ours to
  // use (nothing here calls select()).
  struct rlimit files {};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  Context context;
  SignalWatcher signals(context.cancel);

  CLI::App app{"spindle: device-aware parallel file hasher and duplicate finder", "spindle"};
  app.set_version_flag("-V,--version", version_text());
  app.require_subcommand(1);
  // Flags take no value: CLI11 would read `--stats=yes` as true and `--stats=0` as false.
  // (Inherited by the subcommands' options.)
  app.option_defaults()->disable_flag_override();
  // Set before the subcommands are added: each copies it. Every --help line fits the terminal.
  app.formatter(std::make_shared<HelpFormatter>(help_columns()));

  std::vector<Command> commands{register_group(app, context), register_devices(app, context),
                                register_hash(app, context), register_cache(app, context)};
  for (Command& command : register_actions(app, context)) {
    commands.push_back(std::move(command));
  }
  commands.push_back(register_completions(app, context));

  // Every subcommand's options are grouped (Input, Selection, Threads, Output, Cache); its -h
  // goes with the output options.
  for (CLI::App* sub : app.get_subcommands({})) {
    if (CLI::Option* help = sub->get_help_ptr()) {
      help->group("Output");
    }
  }

  const std::span<char* const> args(argv + 1, static_cast<std::size_t>(argc > 0 ? argc - 1 : 0));
  if (std::optional<int> status = check_command(app, args)) {
    return *status;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return report_parse_error(app, e, args);
  }
  for (Command& command : commands) {
    if (command.app->parsed()) {
      return command.run();
    }
  }
  return k_exit_usage;
}

}  // namespace

// Whatever fails outside a file-level error (set-up, a report that cannot be written) ends the
// run with a message and status 3, never with std::terminate.
int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Fatal messages name paths as given (a report file, the calibration store): escaped here, once.
    std::fprintf(stderr, "spindle: %s\n", spindle::escape_for_terminal(e.what()).c_str());
  } catch (...) {
    std::fprintf(stderr, "spindle: unexpected error\n");
  }
  return spindle::cli::k_exit_fatal;
}
