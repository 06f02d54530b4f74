// DeviceIds: the device part of a cache key, stable across reboots where the system lets us know
// the filesystem's UUID.
#include "device_mountinfo.hpp"

#include <spindle/cache.hpp>

#include <libudev.h>

#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

namespace spindle {

namespace {

// udev's ID_FS_UUID for a block device, read from its database (empty where udev does not run,
// as in most containers).
std::string udev_fs_uuid(dev_t st_dev) {
  udev* context = udev_new();
  if (context == nullptr) {
    return {};
  }
  std::string uuid;
  if (udev_device* device = udev_device_new_from_devnum(context, 'b', st_dev); device != nullptr) {
    if (const char* value = udev_device_get_property_value(device, "ID_FS_UUID"); value != nullptr) {
      uuid = value;
    }
    udev_device_unref(device);
  }
  udev_unref(context);
  return uuid;
}

std::string hex_fsid(const struct statfs& info) {
  std::uint32_t words[2];
  static_assert(sizeof(words) == sizeof(info.f_fsid));
  std::memcpy(words, &info.f_fsid, sizeof(words));
  char text[32];
  std::snprintf(text, sizeof(text), "%08" PRIx32 "%08" PRIx32, words[0], words[1]);
  return text;
}

}  // namespace

DeviceIds::DeviceIds() = default;

std::string DeviceIds::id_of(dev_t st_dev) {
  for (const Known& known : m_known) {
    if (known.st_dev == st_dev) {
      return known.id;
    }
  }
  // The filesystem mounted from st_dev: prefer the mount of its root (a bind mount of a subtree
  // names the same filesystem under another mount point).
  const std::vector<MountEntry> entries = read_mountinfo();
  const MountEntry* mount = nullptr;
  for (const MountEntry& entry : entries) {
    if (entry.mount.st_dev == st_dev && (mount == nullptr || (entry.root == "/" && mount->root != "/"))) {
      mount = &entry;
    }
  }
  const std::string fs_type = mount != nullptr ? mount->mount.fs_type : "";
  struct statfs info {};
  const bool have_statfs = mount != nullptr && ::statfs(mount->mount.mount_point.c_str(), &info) == 0;
  const bool fsid_set = have_statfs && hex_fsid(info) != "0000000000000000";

  std::string id;
  if (fsid_set && fs_type == "btrfs") {
    // One UUID for every subvolume, but each subvolume numbers its inodes from 256: f_fsid
    // mixes the subvolume in and is derived from the UUID, so it is stable.
    id = "fsid:btrfs:" + hex_fsid(info);
  }
  if (id.empty() && major(st_dev) != 0) {
    std::string uuid = udev_fs_uuid(st_dev);
    if (uuid.empty()) {
      if (!m_by_uuid_read) {
        m_by_uuid_read = true;
        std::error_code error;
        for (const auto& link : std::filesystem::directory_iterator("/dev/disk/by-uuid", error)) {
          struct stat target {};
          if (::stat(link.path().c_str(), &target) == 0 && S_ISBLK(target.st_mode)) {
            m_by_uuid.emplace_back(target.st_rdev, link.path().filename().string());
          }
        }
      }
      for (const auto& [device, name] : m_by_uuid) {
        if (device == st_dev) {
          uuid = name;
        }
      }
    }
    if (!uuid.empty()) {
      id = "uuid:" + uuid;
    }
  }
  if (id.empty() && fsid_set && (fs_type == "ext2" || fs_type == "ext3" || fs_type == "ext4")) {
    id = "fsid:" + fs_type + ":" + hex_fsid(info);  // ext4 derives f_fsid from its UUID
  }
  if (id.empty() && mount != nullptr) {
    id = "mount:" + fs_type + ":" + mount->mount.source + ":" + mount->mount.mount_point;
  }
  if (id.empty()) {
    // Not in mountinfo (a test's fake device, a filesystem unmounted meanwhile): the number is
    // all there is.
    id = "dev:" + std::to_string(major(st_dev)) + ":" + std::to_string(minor(st_dev));
  }
  m_known.push_back({st_dev, id});
  return id;
}

}  // namespace spindle
