// The system DeviceProbe: /proc/self/mountinfo for what is mounted where, libudev for the block
// devices. libudev reads sysfs directly, so this works in containers without /run/udev (only the
// udev database extras such as ID_BUS are missing there, and we look for USB in sysfs too).
#include "device_classify.hpp"
#include "device_mountinfo.hpp"

#include <spindle/small_file.hpp>

#include <libudev.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <sstream>

namespace spindle {

namespace {

constexpr int k_max_stack_depth = 16;

bool equals(const char* value, std::string_view expected) {
  return value != nullptr && expected == value;
}

// A sysfs attribute: one short line. Read as every non-data file is (read_small_file); an
// unreadable one reads as empty, which callers treat as unknown.
std::string read_text_file(const std::string& path) {
  Result<std::string> text = read_small_file(path, 64 * 1024);
  return text ? std::move(text).value() : std::string();
}

std::string trimmed(const char* value) {
  std::string text = value == nullptr ? "" : value;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
    text.pop_back();
  }
  return text;
}

// Stat without ever triggering an automount: discovery must not wake up autofs mounts.
std::optional<struct stat> stat_no_automount(const std::string& path) {
  struct stat st {};
  if (fstatat(AT_FDCWD, path.c_str(), &st, AT_NO_AUTOMOUNT) != 0) {
    return std::nullopt;
  }
  return st;
}

// The parts of sysfs ancestry that reveal how a disk is attached.
void inspect_ancestors(udev_device* disk, DiskFacts& facts) {
  for (udev_device* node = udev_device_get_parent(disk); node != nullptr; node = udev_device_get_parent(node)) {
    const char* subsystem = udev_device_get_subsystem(node);
    const char* driver = udev_device_get_driver(node);
    // virtio-blk/virtio-scsi (subsystem virtio), Xen blkfront (xen), Hyper-V storvsc (vmbus), and
    // VMware's paravirtual SCSI HBA, which sits on plain PCI and is known only by its driver.
    if (equals(subsystem, "virtio") || equals(subsystem, "xen") || equals(subsystem, "vmbus")) {
      facts.paravirtual = true;
      facts.paravirtual_by = subsystem;
    } else if (equals(driver, "vmw_pvscsi") || equals(driver, "xen_blkfront") || equals(driver, "hv_storvsc")) {
      facts.paravirtual = true;
      facts.paravirtual_by = driver;
    }
    if (equals(subsystem, "usb")) {
      facts.usb = true;
    }
    // SD cards are removable in practice even though the kernel reports removable=0; eMMC
    // (type "MMC") is soldered on and is not.
    if (equals(subsystem, "mmc") && equals(udev_device_get_sysattr_value(node, "type"), "SD")) {
      facts.removable = true;
    }
  }
}

}  // namespace

class SystemProbe final : public DeviceProbe {
 public:
  SystemProbe() : m_udev(udev_new()) {}
  ~SystemProbe() override {
    if (m_udev != nullptr) {
      udev_unref(m_udev);
    }
  }
  SystemProbe(const SystemProbe&) = delete;
  SystemProbe& operator=(const SystemProbe&) = delete;

  std::vector<Mount> mounts() override { return visible_mounts(entries()); }

  DeviceFacts probe(std::uint64_t st_dev, const Mount* mount) override { return probe_at_depth(st_dev, mount, 0); }

 private:
  const std::vector<MountEntry>& entries() {
    if (!m_loaded) {
      m_entries = read_mountinfo();
      m_loaded = true;
    }
    return m_entries;
  }

  // The mountinfo entry of st_dev, preferring the mount the caller named.
  const MountEntry* find_entry(std::uint64_t st_dev, const Mount* mount) {
    const MountEntry* found = nullptr;
    for (const MountEntry& entry : entries()) {
      if (entry.mount.st_dev != st_dev) {
        continue;
      }
      if (mount != nullptr && entry.mount.mount_point == mount->mount_point) {
        return &entry;
      }
      if (found == nullptr) {
        found = &entry;
      }
    }
    return found;
  }

  DeviceFacts probe_at_depth(std::uint64_t st_dev, const Mount* mount, int depth);
  // A loop device's facts with the device that holds its backing file.
  DeviceFacts with_backing_device(DeviceFacts facts, int depth);
  std::optional<DiskFacts> disk_facts(dev_t devnum, int depth);

  udev* m_udev;
  std::vector<MountEntry> m_entries;
  bool m_loaded = false;
};

DeviceFacts SystemProbe::probe_at_depth(std::uint64_t st_dev, const Mount* mount, int depth) {
  const MountEntry* entry = find_entry(st_dev, mount);
  std::string fs_type = entry != nullptr ? entry->mount.fs_type : (mount != nullptr ? mount->fs_type : "");
  std::string source = entry != nullptr ? entry->mount.source : (mount != nullptr ? mount->source : "");
  FsKind kind = classify_fs_type(fs_type, source);

  DeviceFacts facts;
  facts.name = source.empty() ? fs_type : source;
  facts.key = "st_dev:" + std::to_string(major(st_dev)) + ":" + std::to_string(minor(st_dev));
  if (kind == FsKind::ram) {
    // Every RAM-backed filesystem draws on the same memory: one pool for all of them.
    facts.key = "ram";
    facts.name = fs_type;
    facts.device_class = DeviceClass::ram;
    facts.class_reason = fs_type + ": a filesystem in memory";
    return facts;
  }
  if (kind == FsKind::network) {
    // One pool per server: its exports share the server's disks and the link to it.
    std::string server = network_server(source);
    facts.key = sanitize_key("net:" + server);
    facts.device_class = DeviceClass::network;
    facts.class_reason = fs_type + ": a network filesystem";
    return facts;
  }
  if (kind == FsKind::overlay && entry != nullptr && depth < k_max_stack_depth) {
    // Modified and new files live in upperdir; unmodified ones in the lower layers, which in the
    // usual setups (containers) are on the same filesystem.
    std::optional<std::string> layer = mount_option(entry->super_options, "upperdir");
    if (!layer) {
      layer = mount_option(entry->super_options, "lowerdir");
      if (layer) {
        layer = layer->substr(0, layer->find(':'));
      }
    }
    if (std::optional<struct stat> st = layer ? stat_no_automount(*layer) : std::nullopt) {
      if (st->st_dev != st_dev) {
        return probe_at_depth(st->st_dev, nullptr, depth + 1);
      }
    }
    facts.class_reason = "overlay whose layers could not be found";
    return facts;
  }

  if (major(st_dev) != 0) {
    if (std::optional<DiskFacts> disk = disk_facts(static_cast<dev_t>(st_dev), 0)) {
      return with_backing_device(facts_from_disk(*disk), depth);
    }
  }
  // Anonymous device numbers (btrfs subvolumes, fuseblk, zfs...): the mount source names the
  // block device when there is one.
  if (source.starts_with("/dev/")) {
    if (std::optional<struct stat> st = stat_no_automount(source); st && S_ISBLK(st->st_mode)) {
      if (std::optional<DiskFacts> disk = disk_facts(st->st_rdev, 0)) {
        return with_backing_device(facts_from_disk(*disk), depth);
      }
    }
  }
  facts.class_reason = "no block device behind " + (fs_type.empty() ? std::string("it") : fs_type);
  return facts;
}

DeviceFacts SystemProbe::with_backing_device(DeviceFacts facts, int depth) {
  if (facts.backing_file.empty() || depth >= k_max_stack_depth) {
    return facts;
  }
  // The kernel appends " (deleted)" to the name of a backing file that was unlinked.
  if (std::optional<struct stat> st = stat_no_automount(facts.backing_file)) {
    const DeviceFacts holder = probe_at_depth(st->st_dev, nullptr, depth + 1);
    facts.backing_device = holder.devnode.empty() ? holder.name : holder.devnode;
  }
  return facts;
}

std::optional<DiskFacts> SystemProbe::disk_facts(dev_t devnum, int depth) {
  if (m_udev == nullptr || depth > k_max_stack_depth) {
    return std::nullopt;
  }
  udev_device* device = udev_device_new_from_devnum(m_udev, 'b', devnum);
  if (device == nullptr) {
    return std::nullopt;
  }
  // A partition's disk is its sysfs parent, whatever the naming scheme (sda1, nvme0n1p1, mmcblk0p1).
  udev_device* disk = device;
  if (equals(udev_device_get_devtype(device), "partition")) {
    udev_device* parent = udev_device_get_parent_with_subsystem_devtype(device, "block", "disk");
    if (parent != nullptr) {
      disk = parent;  // owned by `device`
    }
  }

  DiskFacts facts;
  facts.name = trimmed(udev_device_get_sysname(disk));
  facts.devnode = trimmed(udev_device_get_devnode(disk));
  dev_t disk_devnum = udev_device_get_devnum(disk);
  facts.major = major(disk_devnum);
  facts.minor = minor(disk_devnum);
  std::string rotational = trimmed(udev_device_get_sysattr_value(disk, "queue/rotational"));
  if (rotational == "0" || rotational == "1") {
    facts.rotational = rotational == "1";
  }
  facts.removable = trimmed(udev_device_get_sysattr_value(disk, "removable")) == "1";
  facts.wwid = trimmed(udev_device_get_sysattr_value(disk, "wwid"));
  if (facts.wwid.empty()) {
    facts.wwid = trimmed(udev_device_get_sysattr_value(disk, "device/wwid"));
  }
  // ID_BUS comes from the udev database; absent in containers, hence the sysfs walk below too.
  facts.usb = equals(udev_device_get_property_value(disk, "ID_BUS"), "usb");
  // Major numbers 7 (loop) and 1 (brd ramdisk) are fixed by the kernel; zram is recognised by
  // an attribute only it has.
  facts.loop = facts.major == 7;
  if (facts.loop) {
    facts.backing_file = trimmed(udev_device_get_sysattr_value(disk, "loop/backing_file"));
  }
  facts.ram_backed = facts.major == 1 || udev_device_get_sysattr_value(disk, "comp_algorithm") != nullptr;
  inspect_ancestors(disk, facts);

  // Stacked devices (device-mapper, md, bcache) list what they are built on in slaves/.
  std::string syspath = trimmed(udev_device_get_syspath(disk));
  udev_device_unref(device);
  std::error_code error;
  for (const std::filesystem::directory_entry& slave :
       std::filesystem::directory_iterator(syspath + "/slaves", error)) {
    unsigned slave_major = 0;
    unsigned slave_minor = 0;
    char separator = 0;
    std::istringstream dev_text(read_text_file(slave.path().string() + "/dev"));
    if (dev_text >> slave_major >> separator >> slave_minor && separator == ':') {
      if (std::optional<DiskFacts> slave_facts = disk_facts(makedev(slave_major, slave_minor), depth + 1)) {
        facts.slaves.push_back(std::move(*slave_facts));
      }
    }
  }
  return facts;
}

std::unique_ptr<DeviceProbe> make_system_probe() {
  return std::make_unique<SystemProbe>();
}

}  // namespace spindle
