#pragma once

#include <spindle/config.hpp>
#include <spindle/pools.hpp>

#include <CLI/CLI.hpp>

#include <functional>

namespace spindle::cli {

// What every subcommand shares: the parsed Config and the cancellation token (set on SIGINT/SIGTERM).
struct Context {
  Config config;
  CancelToken cancel;
};

// A registered subcommand: its CLI11 app and what runs when it was the one given.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command register_group(CLI::App& root, Context& context);
Command register_devices(CLI::App& root, Context& context);
Command register_cache(CLI::App& root, Context& context);

}  // namespace spindle::cli
