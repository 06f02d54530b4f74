#include "device_classify.hpp"

#include <algorithm>
#include <utility>

namespace spindle {

namespace {

// Slowest first: a stacked device is only as fast as its slowest member.
constexpr DeviceClass k_slowest_first[] = {DeviceClass::hdd,     DeviceClass::removable,    DeviceClass::network,
                                           DeviceClass::unknown, DeviceClass::virtual_disk, DeviceClass::ssd,
                                           DeviceClass::ram};

int slowness_rank(DeviceClass cls) {
  auto it = std::find(std::begin(k_slowest_first), std::end(k_slowest_first), cls);
  return static_cast<int>(it - std::begin(k_slowest_first));
}

Classification by_rotational_flag(const DiskFacts& disk, const std::string& what) {
  if (!disk.rotational) {
    return {DeviceClass::unknown, what + "no readable rotational flag"};
  }
  return {*disk.rotational ? DeviceClass::hdd : DeviceClass::ssd,
          what + "rotational flag " + (*disk.rotational ? "1" : "0")};
}

Classification classify_physical(const DiskFacts& disk) {
  if (disk.ram_backed) {
    return {DeviceClass::ram, disk.major == 1 ? "RAM disk (brd)" : "compressed RAM disk (zram)"};
  }
  if (disk.loop) {
    return by_rotational_flag(disk, "loop device, ");
  }
  if (disk.usb) {
    return {DeviceClass::removable, "on USB"};
  }
  if (disk.removable) {
    return {DeviceClass::removable, "removable flag 1 (or an SD card)"};
  }
  if (disk.paravirtual) {
    return {DeviceClass::virtual_disk,
            "paravirtual disk (" + (disk.paravirtual_by.empty() ? std::string("hypervisor") : disk.paravirtual_by) +
                "): its rotational flag says nothing of the host's storage"};
  }
  return by_rotational_flag(disk, "");
}

void collect_physical(const DiskFacts& disk, std::vector<const DiskFacts*>& out, int depth) {
  // Stacks are a few levels deep (dm-crypt on LVM on md on partitions); the bound only guards
  // against a sysfs loop.
  if (disk.slaves.empty() || depth > 16) {
    bool seen = std::any_of(out.begin(), out.end(), [&](const DiskFacts* other) {
      return other->major == disk.major && other->minor == disk.minor;
    });
    if (!seen) {
      out.push_back(&disk);
    }
    return;
  }
  for (const DiskFacts& slave : disk.slaves) {
    collect_physical(slave, out, depth + 1);
  }
}

std::string disk_key(const DiskFacts& disk) {
  if (!disk.wwid.empty() && !disk.loop) {
    return sanitize_key("wwid:" + disk.wwid);
  }
  return "block:" + std::to_string(disk.major) + ":" + std::to_string(disk.minor);
}

}  // namespace

std::string sanitize_key(std::string_view text) {
  std::string key;
  key.reserve(text.size());
  for (char c : text) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 std::string_view("._:+/@[]-").find(c) != std::string_view::npos;
    key += plain ? c : '_';
  }
  return key.empty() ? std::string("_") : key;
}

std::vector<const DiskFacts*> physical_disks(const DiskFacts& disk) {
  std::vector<const DiskFacts*> disks;
  collect_physical(disk, disks, 0);
  return disks;
}

DeviceClass classify_disk(const DiskFacts& disk) {
  return explain_disk_class(disk).device_class;
}

Classification explain_disk_class(const DiskFacts& disk) {
  if (disk.slaves.empty()) {
    return classify_physical(disk);
  }
  Classification slowest{DeviceClass::ram, ""};
  const DiskFacts* slowest_disk = nullptr;
  for (const DiskFacts* physical : physical_disks(disk)) {
    Classification cls = classify_physical(*physical);
    if (slowest_disk == nullptr || slowness_rank(cls.device_class) < slowness_rank(slowest.device_class)) {
      slowest = std::move(cls);
      slowest_disk = physical;
    }
  }
  if (slowest_disk != nullptr && slowest_disk != &disk) {
    slowest.reason = "stacked: its slowest disk " + slowest_disk->name + " is " +
                     std::string(to_string(slowest.device_class)) + " (" + slowest.reason + ")";
  }
  return slowest;
}

DeviceFacts facts_from_disk(const DiskFacts& disk) {
  std::vector<const DiskFacts*> disks = physical_disks(disk);
  const DiskFacts& shown = disks.size() == 1 ? *disks.front() : disk;
  DeviceFacts facts;
  facts.name = shown.name;
  facts.devnode = shown.devnode;
  facts.major = shown.major;
  facts.minor = shown.minor;
  Classification cls = explain_disk_class(disk);
  facts.device_class = cls.device_class;
  facts.class_reason = std::move(cls.reason);
  facts.backing_file = shown.backing_file;
  if (disks.size() == 1) {
    facts.key = disk_key(*disks.front());
    return facts;
  }
  // Sorted so that the same set of disks always gives the same key, whichever stack is probed first.
  std::vector<std::string> keys;
  for (const DiskFacts* physical : disks) {
    keys.push_back(disk_key(*physical));
    facts.slaves.push_back(physical->devnode.empty() ? physical->name : physical->devnode);
  }
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    facts.key += facts.key.empty() ? key : "+" + key;
  }
  return facts;
}

}  // namespace spindle
