// DeviceMap: group the filesystems a run touches by physical device and size each device's pool.
#include <spindle/device.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace spindle {

namespace {

std::string devnum_text(unsigned dev_major, unsigned dev_minor) {
  return std::to_string(dev_major) + ":" + std::to_string(dev_minor);
}

bool is_devnum(std::string_view text) {
  std::size_t colon = text.find(':');
  auto digits = [](std::string_view part) {
    return !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return colon != std::string_view::npos && digits(text.substr(0, colon)) && digits(text.substr(colon + 1));
}

std::string canonical_or_self(const std::string& path) {
  std::error_code error;
  std::filesystem::path resolved = std::filesystem::canonical(path, error);
  return error ? path : resolved.string();
}

// Does the `dev:` rule's device name this physical device? It may be given as major:minor (of the
// whole disk or of one of its filesystems), or as a path: the disk's node, a node of one of its
// partitions or members, or any symlink to them (/dev/disk/by-id/..., /dev/mapper/...).
bool rule_names_device(const std::string& wanted, const PhysicalDevice& device) {
  const DeviceFacts& facts = device.facts;
  if (wanted == facts.name || wanted == facts.key) {
    return true;
  }
  if (is_devnum(wanted)) {
    if (facts.major != 0 && wanted == devnum_text(facts.major, facts.minor)) {
      return true;
    }
    return std::any_of(device.st_devs.begin(), device.st_devs.end(),
                       [&](std::uint64_t st_dev) { return wanted == devnum_text(major(st_dev), minor(st_dev)); });
  }
  struct stat st {};
  if (fstatat(AT_FDCWD, wanted.c_str(), &st, AT_NO_AUTOMOUNT) == 0 && S_ISBLK(st.st_mode)) {
    if (facts.major != 0 && st.st_rdev == makedev(facts.major, facts.minor)) {
      return true;
    }
    if (std::find(device.st_devs.begin(), device.st_devs.end(), st.st_rdev) != device.st_devs.end()) {
      return true;
    }
  }
  std::string resolved = canonical_or_self(wanted);
  if (!facts.devnode.empty() && resolved == canonical_or_self(facts.devnode)) {
    return true;
  }
  return std::any_of(facts.slaves.begin(), facts.slaves.end(),
                     [&](const std::string& slave) { return resolved == canonical_or_self(slave); });
}

// Most specific wins: a dev: rule, then a class rule, then a bare default rule (each: the last one
// given), then a calibrated size, then the class default.
void choose_threads(PhysicalDevice& device, const ThreadsSpec& spec, const Calibration& calibration) {
  const ThreadsRule* device_rule = nullptr;
  const ThreadsRule* class_rule = nullptr;
  const ThreadsRule* fallback_rule = nullptr;
  for (const ThreadsRule& rule : spec.rules) {
    switch (rule.target) {
      case ThreadsRule::Target::device:
        if (rule_names_device(rule.device, device)) {
          device_rule = &rule;
        }
        break;
      case ThreadsRule::Target::device_class:
        if (rule.device_class == device.facts.device_class) {
          class_rule = &rule;
        }
        break;
      case ThreadsRule::Target::fallback:
        fallback_rule = &rule;
        break;
      case ThreadsRule::Target::main:
        break;
    }
  }
  for (const ThreadsRule* rule : {device_rule, class_rule, fallback_rule}) {
    if (rule != nullptr) {
      device.threads = rule->counts;
      device.threads_source = ThreadsSource::flag;
      return;
    }
  }
  auto calibrated = calibration.best_threads.find(device.facts.key);
  if (calibrated != calibration.best_threads.end() && calibrated->second.small > 0 && calibrated->second.large > 0) {
    device.threads = calibrated->second;
    device.threads_source = ThreadsSource::calibration;
    return;
  }
  device.threads = default_threads(device.facts.device_class);
  device.threads_source = ThreadsSource::builtin_default;
}

// "--threads dev:/dev/sdb:2" as the user wrote the rule, for a message.
std::string rule_label(const ThreadsRule& rule) {
  std::string text = rule.text;
  if (text.empty()) {
    text = rule.target == ThreadsRule::Target::device
               ? "dev:" + rule.device + ":" + std::to_string(rule.counts.small)
               : std::string(to_string(rule.device_class)) + ":" + std::to_string(rule.counts.small);
  }
  return "--threads " + escape_for_terminal(text);
}

// Why a dev: rule that names none of the run's devices names nothing useful.
std::string unmatched_device_reason(const std::string& wanted) {
  if (is_devnum(wanted) || wanted.find('/') == std::string::npos) {
    // major:minor, or the name of a device without a node (tmpfs, a network server).
    return "no file of this run is on that device; rule ignored";
  }
  struct stat st {};
  if (stat(wanted.c_str(), &st) != 0) {
    return errno == ENOENT ? std::string("no such device") : escape_for_terminal(wanted) + ": " + std::strerror(errno);
  }
  if (!S_ISBLK(st.st_mode)) {
    return "not a block device";
  }
  return "no file of this run is on that device; rule ignored";
}

// A rule that sizes no pool is a mistake the user should hear about, but only where it cannot be
// a standing habit: a dev: rule names one device, so matching none means a typo, a device that is
// gone or a path on another disk, and it is a warning. A class rule (`hdd:1` in an alias used on
// every machine) matching nothing is normal on a machine without that class, so it is said only
// at -v. Fallback and main rules always apply.
void report_unused_rules(const ThreadsSpec& spec, std::span<const PhysicalDevice> devices, Logger& log) {
  std::vector<std::string> reported;
  for (const ThreadsRule& rule : spec.rules) {
    std::string message;
    LogLevel level = LogLevel::warning;
    if (rule.target == ThreadsRule::Target::device) {
      if (std::none_of(devices.begin(), devices.end(),
                       [&](const PhysicalDevice& device) { return rule_names_device(rule.device, device); })) {
        message = rule_label(rule) + ": " + unmatched_device_reason(rule.device);
      }
    } else if (rule.target == ThreadsRule::Target::device_class) {
      if (log.enabled(LogLevel::info) &&
          std::none_of(devices.begin(), devices.end(),
                       [&](const PhysicalDevice& device) { return device.facts.device_class == rule.device_class; })) {
        message = rule_label(rule) + ": no " + std::string(to_string(rule.device_class)) +
                  " device in this run; rule ignored";
        level = LogLevel::info;
      }
    }
    if (!message.empty() && std::find(reported.begin(), reported.end(), message) == reported.end()) {
      log.log(level, message);
      reported.push_back(std::move(message));
    }
  }
}

}  // namespace

DeviceMap DeviceMap::build(std::span<const std::uint64_t> st_devs, DeviceProbe& probe, const ThreadsSpec& spec,
                           const Calibration& calibration, Logger& log) {
  std::vector<Mount> mounts = probe.mounts();
  DeviceMap map;
  std::unordered_map<std::string, std::size_t> by_key;
  for (std::uint64_t st_dev : st_devs) {
    if (map.m_by_st_dev.contains(st_dev)) {
      continue;
    }
    auto mount = std::find_if(mounts.begin(), mounts.end(), [&](const Mount& m) { return m.st_dev == st_dev; });
    const Mount* mount_ptr = mount == mounts.end() ? nullptr : &*mount;
    DeviceFacts facts = probe.probe(st_dev, mount_ptr);
    auto [it, inserted] = by_key.try_emplace(facts.key, map.m_devices.size());
    if (inserted) {
      PhysicalDevice device;
      device.facts = std::move(facts);
      map.m_devices.push_back(std::move(device));
    }
    PhysicalDevice& device = map.m_devices[it->second];
    device.st_devs.push_back(st_dev);
    device.fs_types.push_back(mount_ptr != nullptr ? mount_ptr->fs_type : std::string());
    device.mount_points.push_back(mount_ptr != nullptr ? mount_ptr->mount_point : std::string());
    map.m_by_st_dev.emplace(st_dev, it->second);
  }
  for (PhysicalDevice& device : map.m_devices) {
    choose_threads(device, spec, calibration);
    if (log.enabled(LogLevel::debug)) {
      log.debug("device " + escape_for_terminal(device.facts.name) + " (" +
                std::string(to_string(device.facts.device_class)) + ", key " + escape_for_terminal(device.facts.key) +
                "): " + std::to_string(device.st_devs.size()) + " filesystem(s), threads " +
                std::to_string(device.threads.small) + "," + std::to_string(device.threads.large) + " from " +
                std::string(to_string(device.threads_source)));
    }
  }
  report_unused_rules(spec, map.m_devices, log);
  return map;
}

}  // namespace spindle
