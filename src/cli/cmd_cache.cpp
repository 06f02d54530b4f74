// `spindle cache stats|prune|clear`: look into and maintain the persistent hash cache.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "output.hpp"

#include <spindle/cache.hpp>
#include <spindle/units.hpp>

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

namespace spindle::cli {

namespace {

struct CacheOptions {
  CacheAction action = CacheAction::stats;
};

void print(const std::string& text, const CancelToken& cancel) {
  OutputFile output = open_report("", cancel);
  output.commit([&](std::ostream& out) { out << text; });
}

int run(Context& context, const CacheOptions& options) {
  const Config& config = context.config;
  Logger log = make_logger(config);
  const std::filesystem::path path = cache_location(config.cache_path);
  // Looking at or cleaning a cache that does not exist creates nothing.
  struct stat info {};
  if (::lstat(path.c_str(), &info) != 0) {
    const std::string name = escape_for_terminal(path.string());
    print(options.action == CacheAction::stats ? "path: " + name + "\nentries: 0 (no cache yet)\n"
                                               : "no cache at " + name + ": nothing to do\n",
          context.cancel);
    return k_exit_ok;
  }
  std::unique_ptr<HashCache> cache = HashCache::open(path, log);
  if (!cache) {
    return k_exit_fatal;  // open() said why
  }
  std::string text;
  switch (options.action) {
    case CacheAction::stats: {
      const CacheSummary summary = cache->summary();
      text = "path: " + escape_for_terminal(summary.path.string()) + "\nentries: " + std::to_string(summary.entries) +
             "\nfiles: " + std::to_string(summary.files) + "\nsize on disk: " + std::to_string(summary.disk_bytes) +
             " bytes (" + human_size(summary.disk_bytes) +
             ")\nschema version: " + std::to_string(summary.schema_version) + '\n';
      break;
    }
    case CacheAction::prune: {
      DeviceIds ids;
      const std::uint64_t pruned = cache->prune(ids, config.cache_ignore_ctime, context.cancel);
      if (context.cancel.cancelled()) {
        log.error("interrupted: nothing pruned");
        return k_exit_interrupted;
      }
      text = "pruned " + std::to_string(pruned) + " entries, " + std::to_string(cache->summary().entries) + " left\n";
      break;
    }
    case CacheAction::clear:
      text = "cleared " + std::to_string(cache->clear()) + " entries\n";
      break;
  }
  print(text, context.cancel);
  return k_exit_ok;
}

}  // namespace

Command register_cache(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("cache", "Show, prune or clear the persistent hash cache");
  auto options = std::make_shared<CacheOptions>();
  add_cache_command_flags(*app, context.config, options->action);
  add_verbosity_flags(*app, context.config);
  return {app, [&context, options] { return run(context, *options); }};
}

}  // namespace spindle::cli
