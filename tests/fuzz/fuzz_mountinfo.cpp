// Fuzz parse_mountinfo_line, the parser of one /proc/self/mountinfo line (a mount point, a source
// and options are chosen by whoever mounted: with FUSE or user namespaces, any user), and the
// helpers that read its fields. The whole-text parser must agree with the line parser.
#include "device_mountinfo.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string_view line = text.substr(0, text.find('\n'));
  const std::optional<spindle::MountEntry> entry = spindle::parse_mountinfo_line(line);
  if (entry) {
    (void)spindle::classify_fs_type(entry->mount.fs_type, entry->mount.source);
    (void)spindle::network_server(entry->mount.source);
    (void)spindle::mount_option(entry->super_options, "lowerdir");
    (void)spindle::is_pseudo_filesystem(entry->mount);
  }
  const std::vector<spindle::MountEntry> entries = spindle::parse_mountinfo(line);
  if (entries.size() != (entry ? 1u : 0u)) {
    std::abort();
  }
  (void)spindle::visible_mounts(spindle::parse_mountinfo(text));
  return 0;
}
