// `spindle group`: find duplicate files and print the report.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "output.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/device.hpp>
#include <spindle/group.hpp>
#include <spindle/reader.hpp>
#include <spindle/report.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace spindle::cli {

namespace {

int run(Context& context) {
  const Config& config = context.config;
  Logger log(stderr, log_level_for(config.verbosity));
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibration(calibration_path(), log);
  SystemReader reader;

  GroupResult result = run_group(config, log, context.cancel, {*probe, calibration, reader});
  if (result.cancelled) {
    log.error("interrupted: no report written");
    return k_exit_interrupted;
  }

  std::unique_ptr<Reporter> reporter = make_reporter(config.format);
  write_atomically(config.output_path, [&](std::ostream& out) { reporter->write(result, out); });
  if (config.stats) {
    log.write_raw(format_stats(result.stats));
  }
  return result.errors.empty() ? k_exit_ok : k_exit_file_errors;
}

}  // namespace

Command register_group(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("group", "Find groups of files with identical content");
  Config& config = context.config;
  add_walk_flags(*app, config);
  add_candidate_flags(*app, config);
  add_threads_flag(*app, config);
  add_report_flags(*app, config);
  add_verbosity_flags(*app, config);
  return {app, [&context] { return run(context); }};
}

}  // namespace spindle::cli
