#pragma once

#include <optional>
#include <string_view>

namespace spindle {

// What kind of storage a physical device is; decides the default size of its pool.
enum class DeviceClass { ssd, hdd, virtual_disk, removable, network, ram, unknown };

// "ssd", "hdd", "virtual", "removable", "network", "ram", "unknown".
std::string_view to_string(DeviceClass cls);
std::optional<DeviceClass> device_class_from_string(std::string_view name);

}  // namespace spindle
