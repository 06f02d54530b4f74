#pragma once

#include <spindle/device_class.hpp>
#include <spindle/log.hpp>
#include <spindle/threads_spec.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace spindle {

// One mounted filesystem, from /proc/self/mountinfo.
struct Mount {
  std::uint64_t st_dev = 0;
  std::string fs_type;      // "ext4", "tmpfs", "nfs4", "fuse.sshfs"
  std::string source;       // "/dev/vda1", "tmpfs", "server:/export"
  std::string mount_point;  // unescaped
};

// What a probe learns about the storage behind one st_dev.
struct DeviceFacts {
  std::string key;      // identity of the physical device: files with equal keys share one pool
  std::string name;     // "vda", "nvme0n1", "loop3", "tmpfs", "server:/export"
  std::string devnode;  // "/dev/vda", or "" when not a block device
  unsigned major = 0;   // of the whole disk (0:0 when not a block device)
  unsigned minor = 0;
  DeviceClass device_class = DeviceClass::unknown;
  std::vector<std::string> slaves;  // the disks under a stacked device (dm, md, bcache), if any
  std::string class_reason;         // why device_class was chosen ("rotational flag 0", "tmpfs")
  std::string backing_file;         // a loop device's backing file, "" otherwise
  std::string backing_device;       // the device that holds backing_file ("vda", "tmpfs"), if known
};

// A test seam: the real probe reads udev/sysfs/mountinfo; tests substitute a fake.
class DeviceProbe {
 public:
  virtual ~DeviceProbe() = default;
  virtual std::vector<Mount> mounts() = 0;
  virtual DeviceFacts probe(std::uint64_t st_dev, const Mount* mount) = 0;
};

// libudev (which reads sysfs, so it also works where /run/udev does not exist) + mountinfo.
std::unique_ptr<DeviceProbe> make_system_probe();

// True for kernel interfaces that hold no user files (proc, sysfs, cgroup, devpts, devtmpfs,
// autofs..., and anything mounted under /proc or /sys): `spindle devices` without paths skips them.
bool is_pseudo_filesystem(const Mount& mount);

// One physical device and the pool that will read it.
struct PhysicalDevice {
  DeviceFacts facts;
  std::vector<std::uint64_t> st_devs;     // filesystems on it that the run touches
  std::vector<std::string> fs_types;      // one per st_dev
  std::vector<std::string> mount_points;  // one per st_dev
  ThreadCounts threads;                   // pool size used by group/hash
  ThreadsSource threads_source = ThreadsSource::builtin_default;
};

// Per-device pool sizes measured by `spindle devices --calibrate`, keyed by DeviceFacts::key:
// threads for short prefix/suffix reads and for whole-file reads, measured separately.
struct Calibration {
  std::unordered_map<std::string, ThreadCounts> best_threads;
};

// The devices behind a set of st_devs; index_of maps an st_dev to its device (and pool) index.
class DeviceMap {
 public:
  std::span<const PhysicalDevice> devices() const { return m_devices; }
  std::size_t index_of(std::uint64_t st_dev) const { return m_by_st_dev.at(st_dev); }
  std::size_t size() const { return m_devices.size(); }

  // Build from the st_devs a run touches. Pool sizes: --threads (most specific rule wins),
  // then calibration, then the class default. A dev: rule that names none of these devices is a
  // warning ("no such device", "not a block device", or on no file of the run); a class rule
  // that matches none is said at info level (-v) only.
  static DeviceMap build(std::span<const std::uint64_t> st_devs, DeviceProbe& probe, const ThreadsSpec& spec,
                         const Calibration& calibration, Logger& log);

 private:
  std::vector<PhysicalDevice> m_devices;
  std::unordered_map<std::uint64_t, std::size_t> m_by_st_dev;
};

}  // namespace spindle
