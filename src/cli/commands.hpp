#pragma once

#include "flags.hpp"

#include <spindle/config.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/pools.hpp>

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace spindle {
class RunCache;
}  // namespace spindle

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
// link, symlink, remove, move, dedupe (cmd_actions.cpp).
std::vector<Command> register_actions(CLI::App& root, Context& context);
Command register_hash(CLI::App& root, Context& context);

// The --stats block of `spindle hash`: per pool, then `bytes read: N` on a line of its own.
// With `cache` (a listing run's RunCache), also its hits and misses.
std::string hash_stats_text(const HashRunResult& run, std::uint64_t files_scanned, std::uint64_t directories,
                            const RunCache* cache = nullptr);

// `spindle hash --check`: verify the checksum listings `listings` ("-": standard input).
int run_check(Context& context, const HashOptions& options, const std::vector<std::string>& listings);

Command register_cache(CLI::App& root, Context& context);

// The hidden `completions` command (cmd_completions.cpp); registered last, as it describes the
// commands registered before it.
Command register_completions(CLI::App& root, Context& context);

}  // namespace spindle::cli
