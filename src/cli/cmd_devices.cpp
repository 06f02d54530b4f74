// `spindle devices`: what storage the paths live on, how each device was classified, and the pool
// size `group`/`hash` would read it with; `--calibrate` measures that size instead of assuming it.
#include "commands.hpp"
#include "exit_code.hpp"
#include "flags.hpp"
#include "output.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/device.hpp>
#include <spindle/report.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>

namespace spindle::cli {

namespace {

std::string devnum_text(std::uint64_t dev) {
  return std::to_string(major(dev)) + ":" + std::to_string(minor(dev));
}

std::string disk_devnum(const DeviceFacts& facts) {
  return facts.major == 0 && facts.minor == 0 ? "-" : std::to_string(facts.major) + ":" + std::to_string(facts.minor);
}

std::string threads_text(ThreadCounts counts) {
  return std::to_string(counts.small) + "," + std::to_string(counts.large);
}

std::string joined_unique(const std::vector<std::string>& items, bool escape) {
  std::vector<std::string> seen;
  std::string text;
  for (const std::string& item : items) {
    if (item.empty() || std::find(seen.begin(), seen.end(), item) != seen.end()) {
      continue;
    }
    seen.push_back(item);
    text += (text.empty() ? "" : ",") + (escape ? escape_for_terminal(item) : item);
  }
  return text.empty() ? "-" : text;
}

std::string json_string(std::string_view text) {
  return "\"" + json_escape_path(text) + "\"";
}

// Columns sized to their widest cell, the last one left ragged.
void write_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const std::vector<std::string>& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    out << line << '\n';
  }
}

// A PATH argument and the filesystem it is on.
struct PathDevice {
  std::string path;
  std::uint64_t st_dev = 0;
};

// The device (index in the map) a PATH is on, with the mount it is under.
std::string path_line(const PathDevice& path, const DeviceMap& map) {
  const PhysicalDevice& device = map.devices()[map.index_of(path.st_dev)];
  std::string line = escape_for_terminal(path.path) + ": on " + escape_for_terminal(device.facts.name);
  for (std::size_t i = 0; i < device.st_devs.size(); ++i) {
    if (device.st_devs[i] == path.st_dev) {
      line += " (" + escape_for_terminal(device.fs_types[i]) + " mounted on " +
              escape_for_terminal(device.mount_points[i]) + ", st_dev " + devnum_text(path.st_dev) + ")";
    }
  }
  return line;
}

void write_devices_text(std::ostream& out, const DeviceMap& map, const Config& config,
                        const std::vector<PathDevice>& paths) {
  // THREADS is r,s: the pool's threads for short reads (the prefix and suffix of each file) and
  // for whole-file reads, as --threads writes them.
  std::vector<std::vector<std::string>> rows{
      {"MAJ:MIN", "NAME", "CLASS", "FS", "MOUNTS", "THREADS(short,whole)", "FROM"}};
  for (const PhysicalDevice& device : map.devices()) {
    std::string name = escape_for_terminal(device.facts.name);
    if (!device.facts.slaves.empty()) {
      name += " (on " + joined_unique(device.facts.slaves, true) + ")";
    }
    rows.push_back({disk_devnum(device.facts), name, std::string(to_string(device.facts.device_class)),
                    joined_unique(device.fs_types, true), joined_unique(device.mount_points, true),
                    threads_text(device.threads), std::string(to_string(device.threads_source))});
  }
  write_table(out, rows);
  out << "main: " << config.threads.main_threads() << " threads (walk and in-memory work)\n";
  // Why each class, the key the calibration file stores it under, and a loop device's file.
  for (const PhysicalDevice& device : map.devices()) {
    const DeviceFacts& facts = device.facts;
    out << "\n"
        << escape_for_terminal(facts.name) << ": " << to_string(facts.device_class) << ": "
        << escape_for_terminal(facts.class_reason.empty() ? std::string("no reason known") : facts.class_reason)
        << "\n  calibration key: " << escape_for_terminal(facts.key) << "\n";
    if (!facts.backing_file.empty()) {
      out << "  backing file: " << escape_for_terminal(facts.backing_file) << " (on "
          << escape_for_terminal(facts.backing_device.empty() ? std::string("an unknown device") : facts.backing_device)
          << ")\n";
    }
  }
  if (!paths.empty()) {
    out << "\n";
    for (const PathDevice& path : paths) {
      out << path_line(path, map) << "\n";
    }
  }
}

std::string fixed(double value, int digits) {
  std::ostringstream text;
  text << std::fixed << std::setprecision(digits) << value;
  return text.str();
}

void write_points_text(std::ostream& out, std::string_view title, const std::vector<CalibrationPoint>& points,
                       int best) {
  out << title << "\n";
  // The median run of each count, and the range of its runs' throughput (MB/s, or files/s when
  // nothing was read: the unit the best count is chosen by).
  const bool bytes = std::any_of(points.begin(), points.end(), [](const CalibrationPoint& p) { return p.bytes > 0; });
  std::vector<std::vector<std::string>> rows{
      {"THREADS", "FILES", "MB", "SECONDS", "MB/S", "FILES/S", bytes ? "RUNS MB/S" : "RUNS FILES/S", ""}};
  bool cut_short = false;
  for (const CalibrationPoint& point : points) {
    cut_short = cut_short || !point.complete;
    rows.push_back(
        {std::to_string(point.threads), std::to_string(point.files), fixed(static_cast<double>(point.bytes) / 1e6, 1),
         fixed(point.seconds, 2), fixed(point.mb_per_s(), 1), fixed(point.files_per_s(), 0),
         std::to_string(point.runs) + "x " + fixed(point.low, bytes ? 1 : 0) + ".." + fixed(point.high, bytes ? 1 : 0),
         point.threads == best ? "<- best" : (point.complete ? "" : "(time slice ended)")});
  }
  write_table(out, rows);
  if (cut_short) {
    out << "(time slice ended: the count's runs stopped when their share of the device's time ran out, "
           "before reading the whole sample; their rate is over the files they read)\n";
  }
}

void write_calibration_text(std::ostream& out, const PhysicalDevice& device, const CalibrationResult& result) {
  out << "calibration of " << escape_for_terminal(device.facts.name) << " (" << to_string(device.facts.device_class)
      << ", key " << escape_for_terminal(result.key) << "): " << result.sample_files << " files sampled, cold cache by "
      << to_string(result.cache) << "\n";
  if (result.small.empty() && result.large.empty()) {
    out << "no result\n\n";
    return;
  }
  write_points_text(out, "small reads (the first 4 KiB of each file):", result.small, result.best.small);
  write_points_text(out, "whole-file reads (up to 1 MiB of each file):", result.large, result.best.large);
  if (result.ok()) {
    out << "best: " << threads_text(result.best) << " (small,whole-file)\n\n";
  } else if (!result.refused.empty()) {
    out << "best: none stored: " << result.refused << "\n\n";
  } else {
    out << "best: no result\n\n";
  }
}

void write_points_json(std::ostream& out, const std::vector<CalibrationPoint>& points) {
  out << "[";
  for (std::size_t i = 0; i < points.size(); ++i) {
    const CalibrationPoint& point = points[i];
    out << (i == 0 ? "" : ",") << "{\"threads\":" << point.threads << ",\"files\":" << point.files
        << ",\"bytes\":" << point.bytes << ",\"seconds\":" << point.seconds
        << ",\"complete\":" << (point.complete ? "true" : "false") << ",\"runs\":" << point.runs
        << ",\"low\":" << point.low << ",\"high\":" << point.high << "}";
  }
  out << "]";
}

void write_json(std::ostream& out, const DeviceMap& map, const Config& config,
                const std::vector<DeviceCalibration>& calibrations, const std::vector<PathDevice>& paths) {
  out << "{\"devices\":[";
  bool first_device = true;
  for (const PhysicalDevice& device : map.devices()) {
    const DeviceFacts& facts = device.facts;
    out << (first_device ? "" : ",") << "{\"key\":" << json_string(facts.key) << ",\"name\":" << json_string(facts.name)
        << ",\"devnode\":" << json_string(facts.devnode)
        << ",\"devnum\":" << (facts.major == 0 && facts.minor == 0 ? "null" : json_string(disk_devnum(facts)))
        << ",\"class\":" << json_string(to_string(facts.device_class)) << ",\"slaves\":[";
    for (std::size_t i = 0; i < facts.slaves.size(); ++i) {
      out << (i == 0 ? "" : ",") << json_string(facts.slaves[i]);
    }
    out << "],\"filesystems\":[";
    for (std::size_t i = 0; i < device.st_devs.size(); ++i) {
      out << (i == 0 ? "" : ",") << "{\"devnum\":" << json_string(devnum_text(device.st_devs[i]))
          << ",\"fs_type\":" << json_string(device.fs_types[i])
          << ",\"mount_point\":" << json_string(device.mount_points[i]) << "}";
    }
    out << "],\"threads\":[" << device.threads.small << "," << device.threads.large
        << "],\"threads_source\":" << json_string(to_string(device.threads_source))
        << ",\"class_reason\":" << json_string(facts.class_reason);
    if (!facts.backing_file.empty()) {
      out << ",\"backing_file\":" << json_string(facts.backing_file)
          << ",\"backing_device\":" << json_string(facts.backing_device);
    }
    out << "}";
    first_device = false;
  }
  out << "],\"main_threads\":" << config.threads.main_threads();
  out << ",\"paths\":[";
  for (std::size_t i = 0; i < paths.size(); ++i) {
    const PhysicalDevice& device = map.devices()[map.index_of(paths[i].st_dev)];
    out << (i == 0 ? "" : ",") << "{\"path\":" << json_string(paths[i].path)
        << ",\"key\":" << json_string(device.facts.key) << ",\"name\":" << json_string(device.facts.name)
        << ",\"devnum\":" << json_string(devnum_text(paths[i].st_dev)) << "}";
  }
  out << "]";
  if (!calibrations.empty()) {
    out << ",\"calibration\":[";
    bool first = true;
    for (const auto& [device, result] : calibrations) {
      out << (first ? "" : ",") << "{\"key\":" << json_string(result.key)
          << ",\"name\":" << json_string(device->facts.name) << ",\"sample_files\":" << result.sample_files
          << ",\"cache\":" << json_string(to_string(result.cache)) << ",\"small\":";
      write_points_json(out, result.small);
      out << ",\"large\":";
      write_points_json(out, result.large);
      out << ",\"refused\":" << (result.refused.empty() ? "null" : json_string(result.refused));
      out << ",\"best_threads\":";
      if (result.ok()) {
        out << "[" << result.best.small << "," << result.best.large << "]";
      } else {
        out << "null";
      }
      out << "}";
      first = false;
    }
    out << "]";
  }
  out << "}\n";
}

// The st_devs to show: those of the paths, or of every mount with real storage.
std::vector<std::uint64_t> collect_st_devs(const DevicesOptions& options, DeviceProbe& probe, Logger& log, int& errors,
                                           std::vector<PathDevice>& paths) {
  std::vector<std::uint64_t> st_devs;
  auto add = [&](std::uint64_t dev) {
    if (std::find(st_devs.begin(), st_devs.end(), dev) == st_devs.end()) {
      st_devs.push_back(dev);
    }
  };
  if (options.paths.empty()) {
    // Straight from mountinfo: no stat, so no automount is ever triggered.
    for (const Mount& mount : probe.mounts()) {
      if (!is_pseudo_filesystem(mount)) {
        add(mount.st_dev);
      }
    }
    return st_devs;
  }
  for (const std::string& path : options.paths) {
    struct stat st {};
    // Command-line paths follow symlinks, as in `group`; AT_NO_AUTOMOUNT leaves autofs alone.
    if (fstatat(AT_FDCWD, path.c_str(), &st, AT_NO_AUTOMOUNT) != 0) {
      log.file_error(FileError{path, errno, "stat", ""});
      ++errors;
      continue;
    }
    add(st.st_dev);
    paths.push_back({path, st.st_dev});
  }
  return st_devs;
}

int run(Context& context, const DevicesOptions& options) {
  const Config& config = context.config;
  Logger log = make_logger(config);
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  int errors = 0;
  std::vector<PathDevice> paths;
  std::vector<std::uint64_t> st_devs = collect_st_devs(options, *probe, log, errors, paths);

  // The system store and the user's, the user's entries winning, as group and hash read them.
  Calibration calibration = load_calibrations(log);
  DeviceMap map = DeviceMap::build(st_devs, *probe, config.threads, calibration, log);

  std::vector<DeviceCalibration> calibrations;
  if (options.calibrate) {
    // --calibrate writes one store (the user's, or with --system the system's) and keeps what
    // that store held for other devices; it never copies the other store's entries into it.
    const std::filesystem::path store = options.system ? system_calibration_path() : calibration_path();
    Logger silent(stderr, LogLevel::silent);  // its warnings were given by load_calibrations
    Calibration stored = load_calibration(store, silent);
    // Opened before measuring: a store that cannot be written fails now, not after a minute.
    std::optional<OutputFile> store_file;
    try {
      store_file.emplace(open_calibration_store(store));
    } catch (const Fatal& e) {
      throw Fatal(std::string(e.what()) + (options.system
                                               ? " (--system writes the store for every user: run it as root)"
                                               : " (check the directory's permissions, or set XDG_CONFIG_HOME)"));
    }
    calibrations = calibrate_devices(map, options.paths, stored, log, context.cancel);
    if (context.cancel.cancelled()) {
      log.error("interrupted: calibration not stored");
      return k_exit_interrupted;
    }
    for (const auto& [device, result] : calibrations) {
      if (!result.ok() && !result.refused.empty()) {
        log.warning("calibrate " + escape_for_terminal(device->facts.name) + ": nothing stored: " + result.refused +
                    "; runs keep the pool size they had. A PATH with more files, or a quieter machine, gives "
                    "clearer differences");
      }
    }
    save_calibration(stored, *store_file);
    log.info("calibration stored in " + escape_for_terminal(store.string()));
    calibration = load_calibrations(silent);
  }
  // Rebuilt so the table shows the pool sizes the next run will use, calibrated ones included;
  // errors only, since the first build already reported what it had to say about the rules.
  Logger rebuild_log(stderr, LogLevel::error);
  DeviceMap shown =
      options.calibrate ? DeviceMap::build(st_devs, *probe, config.threads, calibration, rebuild_log) : std::move(map);
  OutputFile output = open_report("", context.cancel);
  bool written = output.commit([&](std::ostream& out) {
    if (config.format == ReportFormat::json) {
      write_json(out, shown, config, calibrations, paths);
      return;
    }
    for (const auto& [device, result] : calibrations) {
      write_calibration_text(out, *device, result);
    }
    write_devices_text(out, shown, config, paths);
  });
  if (!written) {
    return k_exit_interrupted;
  }
  return errors == 0 ? k_exit_ok : k_exit_file_errors;
}

}  // namespace

Command register_devices(CLI::App& root, Context& context) {
  CLI::App* app = root.add_subcommand("devices", "Show each path's device, its class and pool size");
  auto options = std::make_shared<DevicesOptions>();
  add_devices_flags(*app, context.config, *options);
  add_threads_flag(*app, context.config);
  add_verbosity_flags(*app, context.config);
  return {app, [&context, options] { return run(context, *options); }};
}

}  // namespace spindle::cli
