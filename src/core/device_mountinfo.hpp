#pragma once

#include <spindle/device.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// One line of /proc/self/mountinfo, with the fields the probe needs beyond Mount.
struct MountEntry {
  Mount mount;
  std::string root;           // the subtree of the filesystem mounted here ("/" unless a bind mount)
  std::string super_options;  // as in mountinfo (still escaped): "rw,lowerdir=...,upperdir=..."
};

// Parse one line of /proc/self/mountinfo (no line feed); nullopt if it is malformed.
std::optional<MountEntry> parse_mountinfo_line(std::string_view line);
// Parse the text of /proc/self/mountinfo (proc(5)), line by line. Malformed lines are skipped. Paths and
// sources are unescaped (\040 → ' ', \011, \012, \134).
std::vector<MountEntry> parse_mountinfo(std::string_view text);
// The mounts this process sees now: /proc/self/mountinfo, parsed (empty if it cannot be read).
std::vector<MountEntry> read_mountinfo();

// Undo the kernel's octal escapes (\NNN) in one mountinfo field.
std::string unescape_mountinfo(std::string_view field);

// The mounts a walk can reach: of several mounts on one mount point only the last (the one on
// top) is kept; entries that mount a filesystem's root come before bind mounts of its subtrees.
std::vector<Mount> visible_mounts(const std::vector<MountEntry>& entries);

// The value of `name=` in a comma-separated (escaped) option string, unescaped; nullopt if absent.
std::optional<std::string> mount_option(std::string_view options, std::string_view name);

// What a filesystem type says about its storage before looking at any block device.
enum class FsKind { block, ram, network, overlay, pseudo, other };
FsKind classify_fs_type(std::string_view fs_type, std::string_view source);

// The server part of a network mount source: "nas" for "nas:/export", "//nas/share" or
// "user@nas:/path"; the whole source when it has no recognisable server.
std::string network_server(std::string_view source);

}  // namespace spindle
