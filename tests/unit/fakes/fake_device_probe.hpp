#pragma once

#include <spindle/device.hpp>

#include <sys/sysmacros.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace spindle::fakes {

// A DeviceProbe with scripted answers: tests list the mounts and the facts of each st_dev.
class FakeDeviceProbe : public DeviceProbe {
 public:
  std::vector<Mount> mount_list;
  std::map<std::uint64_t, DeviceFacts> facts_by_st_dev;
  int probe_calls = 0;

  std::vector<Mount> mounts() override { return mount_list; }

  DeviceFacts probe(std::uint64_t st_dev, const Mount* /*mount*/) override {
    ++probe_calls;
    auto found = facts_by_st_dev.find(st_dev);
    if (found != facts_by_st_dev.end()) {
      return found->second;
    }
    DeviceFacts unknown;
    unknown.key = "st_dev:" + std::to_string(major(st_dev)) + ":" + std::to_string(minor(st_dev));
    unknown.name = "unknown";
    return unknown;
  }

  // Add a mounted filesystem on a block disk.
  void add_disk_fs(std::uint64_t st_dev, std::string mount_point, std::string fs_type, DeviceFacts facts) {
    mount_list.push_back(Mount{st_dev, std::move(fs_type), facts.devnode, std::move(mount_point)});
    facts_by_st_dev[st_dev] = std::move(facts);
  }
};

// Facts of a whole block disk as the system probe would report them.
inline DeviceFacts disk_facts(const std::string& name, unsigned disk_major, unsigned disk_minor, DeviceClass cls) {
  DeviceFacts facts;
  facts.key = "block:" + std::to_string(disk_major) + ":" + std::to_string(disk_minor);
  facts.name = name;
  facts.devnode = "/dev/" + name;
  facts.major = disk_major;
  facts.minor = disk_minor;
  facts.device_class = cls;
  return facts;
}

}  // namespace spindle::fakes
