#pragma once

#include <spindle/device.hpp>

#include <optional>
#include <string>
#include <vector>

namespace spindle {

// What sysfs says about one whole disk (never a partition). Filled by the udev probe, or by hand
// in tests; classify_disk() and facts_from_disk() turn it into a class and a pool key.
struct DiskFacts {
  std::string name;     // sysfs name: "vda", "dm-0", "loop3", "md0"
  std::string devnode;  // "/dev/vda"
  unsigned major = 0;
  unsigned minor = 0;
  std::string wwid;                // a stable identity (wwid attribute), "" when the disk has none
  std::optional<bool> rotational;  // queue/rotational; nullopt when unreadable
  bool removable = false;          // the removable attribute, or an SD card
  bool usb = false;                // a USB device among its sysfs ancestors, or ID_BUS=usb
  bool paravirtual = false;        // virtio, Xen or Hyper-V among its ancestors or drivers
  std::string paravirtual_by;      // what showed it: "virtio", "xen", "vmbus" or a driver name
  bool ram_backed = false;         // zram, brd
  bool loop = false;               // a loop device
  std::vector<DiskFacts> slaves;   // the devices under a stacked one (dm, md, bcache)
  std::string backing_file;        // a loop device's file (loop/backing_file), "" when none
};

// A class and why it was chosen, in words for `spindle devices` ("rotational flag 1").
struct Classification {
  DeviceClass device_class = DeviceClass::unknown;
  std::string reason;
};

// The class of a disk. A loop device goes by its own rotational flag (the kernel copies it from
// the backing device and an administrator may change it). A paravirtual disk is `virtual`
// whatever it claims (hypervisors usually say rotational). A stacked device takes the slowest
// class of its physical disks: any hdd makes it hdd.
DeviceClass classify_disk(const DiskFacts& disk);
// The same decision, with its reason.
Classification explain_disk_class(const DiskFacts& disk);

// The physical disks at the bottom of a stack (the disk itself when it has no slaves), each once.
std::vector<const DiskFacts*> physical_disks(const DiskFacts& disk);

// Facts for the pool: a stacked device on one disk becomes that disk (so two LVs of one disk share
// one key and one pool); on several disks it keeps its own name and lists the disks as slaves,
// and its key joins the disks' keys.
DeviceFacts facts_from_disk(const DiskFacts& disk);

// Keys are one token (no blanks) so the calibration store can be a simple "key threads" file.
std::string sanitize_key(std::string_view text);

}  // namespace spindle
