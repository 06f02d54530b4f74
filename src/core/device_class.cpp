#include <spindle/device_class.hpp>

#include <array>
#include <utility>

namespace spindle {

namespace {

// One table for both directions, so the names printed and the names parsed cannot drift apart.
constexpr std::array<std::pair<DeviceClass, std::string_view>, 7> k_class_names{{
    {DeviceClass::ssd, "ssd"},
    {DeviceClass::hdd, "hdd"},
    {DeviceClass::virtual_disk, "virtual"},
    {DeviceClass::removable, "removable"},
    {DeviceClass::network, "network"},
    {DeviceClass::ram, "ram"},
    {DeviceClass::unknown, "unknown"},
}};

}  // namespace

std::string_view to_string(DeviceClass cls) {
  for (const auto& [value, name] : k_class_names) {
    if (value == cls) {
      return name;
    }
  }
  return "unknown";
}

std::optional<DeviceClass> device_class_from_string(std::string_view name) {
  for (const auto& [value, text] : k_class_names) {
    if (text == name) {
      return value;
    }
  }
  return std::nullopt;
}

}  // namespace spindle
