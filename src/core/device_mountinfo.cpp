#include "device_mountinfo.hpp"

#include <spindle/small_file.hpp>

#include <sys/sysmacros.h>

#include <algorithm>
#include <iterator>
#include <sstream>

namespace spindle {

namespace {

// Filesystems whose data lives on another machine (or the hypervisor's host, for 9p/virtiofs):
// the server and the link are the bottleneck, not a local disk.
constexpr std::string_view k_network_types[] = {"nfs",      "nfs4",     "cifs",  "smb3",  "smbfs",     "ceph",   "9p",
                                                "virtiofs", "afs",      "coda",  "ncpfs", "glusterfs", "lustre", "gpfs",
                                                "beegfs",   "orangefs", "pvfs2", "davfs", "cephfs",    "moosefs"};

// The part after "fuse." of FUSE filesystems that talk to a server.
constexpr std::string_view k_network_fuse[] = {"sshfs",     "rclone", "s3fs",     "gcsfuse",   "goofys",   "glusterfs",
                                               "ceph-fuse", "cephfs", "davfs",    "curlftpfs", "smbnetfs", "afpfs",
                                               "juicefs",   "s3ql",   "blobfuse", "blobfuse2", "mfs",      "lizardfs",
                                               "seaweedfs", "sftpfs", "httpfs"};

constexpr std::string_view k_ram_types[] = {"tmpfs", "ramfs"};

// Kernel interfaces that hold no user files. devtmpfs holds only device nodes, which a
// duplicate finder never opens.
constexpr std::string_view k_pseudo_types[] = {
    "proc",        "sysfs",    "cgroup",    "cgroup2", "devpts",     "devtmpfs", "securityfs", "debugfs",
    "tracefs",     "pstore",   "bpf",       "mqueue",  "hugetlbfs",  "configfs", "fusectl",    "autofs",
    "binfmt_misc", "efivarfs", "selinuxfs", "nsfs",    "rpc_pipefs", "nfsd"};

template <std::size_t N>
bool contains(const std::string_view (&table)[N], std::string_view value) {
  return std::find(std::begin(table), std::end(table), value) != std::end(table);
}

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) {
      return parts;
    }
    start = end + 1;
  }
}

// "host:/path" or "//host/share": the shapes of a remote source.
bool looks_remote(std::string_view source) {
  if (source.starts_with("//")) {
    return true;
  }
  std::size_t colon = source.find(':');
  return colon != std::string_view::npos && colon > 0 && !source.starts_with("/");
}

}  // namespace

std::string unescape_mountinfo(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && is_octal(field[i + 2]) &&
        is_octal(field[i + 3])) {
      out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

std::vector<MountEntry> read_mountinfo() {
  // Bounded as every file that is not user data (read_small_file): a mount table is ~150 bytes
  // a mount, so 64 MiB is hundreds of thousands of mounts. An unreadable one reads as no mounts.
  Result<std::string> text = read_small_file("/proc/self/mountinfo", 64 << 20);
  return parse_mountinfo(text ? *text : std::string());
}

std::optional<MountEntry> parse_mountinfo_line(std::string_view line) {
  // id parent maj:min root mount_point options [optional fields...] - fs_type source super_options
  std::vector<std::string_view> fields;
  for (std::string_view field : split(line, ' ')) {
    if (!field.empty()) {
      fields.push_back(field);
    }
  }
  auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
  if (fields.size() < 6 || dash == fields.end() || dash - fields.begin() < 6 || fields.end() - dash < 3) {
    return std::nullopt;
  }
  std::string_view devnum = fields[2];
  std::size_t colon = devnum.find(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  unsigned long dev_major = 0;
  unsigned long dev_minor = 0;
  try {
    dev_major = std::stoul(std::string(devnum.substr(0, colon)));
    dev_minor = std::stoul(std::string(devnum.substr(colon + 1)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  MountEntry entry;
  entry.mount.st_dev = makedev(static_cast<unsigned>(dev_major), static_cast<unsigned>(dev_minor));
  entry.root = unescape_mountinfo(fields[3]);
  entry.mount.mount_point = unescape_mountinfo(fields[4]);
  entry.mount.fs_type = unescape_mountinfo(dash[1]);
  entry.mount.source = unescape_mountinfo(dash[2]);
  entry.super_options = fields.end() - dash > 3 ? std::string(dash[3]) : std::string();
  return entry;
}

std::vector<MountEntry> parse_mountinfo(std::string_view text) {
  std::vector<MountEntry> entries;
  for (std::string_view line : split(text, '\n')) {
    if (std::optional<MountEntry> entry = parse_mountinfo_line(line)) {
      entries.push_back(std::move(*entry));
    }
  }
  return entries;
}

std::vector<Mount> visible_mounts(const std::vector<MountEntry>& entries) {
  std::vector<const MountEntry*> kept;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    bool covered =
        std::any_of(entries.begin() + static_cast<std::ptrdiff_t>(i) + 1, entries.end(),
                    [&](const MountEntry& later) { return later.mount.mount_point == entries[i].mount.mount_point; });
    if (!covered) {
      kept.push_back(&entries[i]);
    }
  }
  // Callers take the first mount of an st_dev as its name, so prefer the filesystem's own root
  // over a bind mount of one of its directories.
  std::stable_sort(kept.begin(), kept.end(),
                   [](const MountEntry* a, const MountEntry* b) { return (a->root == "/") > (b->root == "/"); });
  std::vector<Mount> mounts;
  mounts.reserve(kept.size());
  for (const MountEntry* entry : kept) {
    mounts.push_back(entry->mount);
  }
  return mounts;
}

std::optional<std::string> mount_option(std::string_view options, std::string_view name) {
  for (std::string_view option : split(options, ',')) {
    if (option.size() > name.size() && option.starts_with(name) && option[name.size()] == '=') {
      return unescape_mountinfo(option.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

FsKind classify_fs_type(std::string_view fs_type, std::string_view source) {
  if (contains(k_ram_types, fs_type)) {
    return FsKind::ram;
  }
  if (contains(k_pseudo_types, fs_type)) {
    return FsKind::pseudo;
  }
  if (contains(k_network_types, fs_type)) {
    return FsKind::network;
  }
  if (fs_type == "overlay" || fs_type == "overlayfs") {
    return FsKind::overlay;
  }
  if (fs_type.starts_with("fuse.")) {
    if (contains(k_network_fuse, fs_type.substr(5)) || looks_remote(source)) {
      return FsKind::network;
    }
    return FsKind::other;
  }
  if (fs_type == "fuse" && looks_remote(source)) {
    return FsKind::network;
  }
  return FsKind::block;
}

std::string network_server(std::string_view source) {
  std::string_view server = source;
  if (server.starts_with("//")) {
    server.remove_prefix(2);
    server = server.substr(0, server.find('/'));
  } else if (server.starts_with("[")) {
    server = server.substr(0, server.find(']') + 1);  // "[fe80::1]:/export"
  } else if (std::size_t colon = server.find(':'); colon != std::string_view::npos && colon > 0) {
    server = server.substr(0, colon);
  }
  if (std::size_t at = server.rfind('@'); at != std::string_view::npos) {
    server.remove_prefix(at + 1);
  }
  return server.empty() ? std::string(source) : std::string(server);
}

bool is_pseudo_filesystem(const Mount& mount) {
  if (classify_fs_type(mount.fs_type, mount.source) == FsKind::pseudo) {
    return true;
  }
  // Whatever is mounted inside /proc or /sys (cgroup tmpfs, binfmt_misc...) is a kernel
  // interface, never user data.
  std::string_view point = mount.mount_point;
  for (std::string_view prefix : {std::string_view("/proc"), std::string_view("/sys")}) {
    if (point == prefix || (point.starts_with(prefix) && point[prefix.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace spindle
