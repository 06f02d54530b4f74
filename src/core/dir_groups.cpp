// Duplicate directories, bottom-up from the file groups (rmlint's treemerge is the model: count,
// feed, cluster up, extract top-down):
//
//   walked dirs ──tree by prefix──▶ nodes ──files of each node: in a group? (else incomplete)
//     ──deepest first: list the node again, every entry accounted for? digest from its members
//     ──equal (digest, size, count)──▶ candidate groups ──shallowest first, topmost only──▶ dir groups
//     ──files under a reported directory──▶ out of the file groups
//
// Nothing is read: a file's content is its group's full hash. Only directories whose files all
// have copies are listed again, so the cost is one getdents per such directory.
#include <spindle/dir_groups.hpp>
#include <spindle/long_path.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <iterator>
#include <span>
#include <tuple>
#include <unordered_map>

namespace spindle {

namespace {

constexpr std::uint32_t k_none = UINT32_MAX;

struct Node {
  std::string_view prefix;  // "a/b/"
  std::uint32_t parent = k_none;
  std::uint32_t depth = 0;  // slashes in the prefix: a parent has one less
  std::vector<FileIndex> files;
  std::vector<std::uint32_t> children;
  std::vector<std::string> empty_files;  // listed, not in the table (no filter lets them in), 0 bytes
  std::vector<std::pair<std::string, std::string>> symlinks;  // listed, not followed: name, target
  bool complete = true;
  std::uint64_t size = 0;   // bytes under it
  std::uint64_t count = 0;  // files under it, empty ones included
  Digest digest;
  bool reported = false;
};

// One file's or directory's part in its parent's digest.
struct Member {
  std::string_view name;
  char kind;  // 'f' file, 'd' directory, 'l' symlink
  std::uint64_t size;
  Digest digest;
};

std::string_view last_component(std::string_view prefix) {
  prefix.remove_suffix(1);
  const std::size_t slash = prefix.rfind('/');
  return slash == std::string_view::npos ? prefix : prefix.substr(slash + 1);
}

std::string dir_path(std::string_view prefix) {
  return std::string(prefix.size() > 1 ? prefix.substr(0, prefix.size() - 1) : prefix);
}

void append_bytes(std::string& out, const void* data, std::size_t size) {
  out.append(static_cast<const char*>(data), size);
}

Digest digest_of(std::string_view bytes) {
  return hash_bytes(std::as_bytes(std::span(bytes.data(), bytes.size())));
}

// Addition mod 2^128: the order-free combination of --dirs-ignore-names (a multiset hash; exact
// equality is checked afterwards, so a collision costs a comparison, never a wrong report).
Digest add(Digest a, Digest b) {
  const std::uint64_t low = a.low + b.low;
  return {a.high + b.high + (low < a.low ? 1 : 0), low};
}

Digest content_digest(Digest content, std::uint64_t size) {
  std::string bytes;
  append_bytes(bytes, &content, sizeof content);
  append_bytes(bytes, &size, sizeof size);
  return digest_of(bytes);
}

class Finder {
 public:
  Finder(const FileTable& files, const std::vector<std::string>& walked, const std::vector<DuplicateGroup>& groups,
         const DirGroupOptions& options, const DirLister& list)
      : m_files(files), m_groups(groups), m_options(options), m_list(list), m_group_of(files.size(), k_none) {
    build_tree(walked);
    for (std::uint32_t g = 0; g < groups.size(); ++g) {
      if (groups[g].files.size() >= 2) {
        for (FileIndex f : groups[g].files) {
          m_group_of[f] = g;
        }
      }
    }
    for (FileIndex f = 0; f < files.size(); ++f) {
      auto node = m_by_prefix.find(files.directory(f));
      if (node == m_by_prefix.end()) {
        continue;  // a file PATH in a directory not walked
      }
      Node& n = m_nodes[node->second];
      n.files.push_back(f);
      if (m_group_of[f] == k_none && files[f].size != 0) {
        n.complete = false;  // no copy: no other directory can hold the same content
      }
    }
  }

  DirFolding run() {
    std::vector<std::uint32_t> order(m_nodes.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) {
      order[i] = i;
    }
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      return m_nodes[a].depth != m_nodes[b].depth ? m_nodes[a].depth > m_nodes[b].depth
                                                  : m_nodes[a].prefix < m_nodes[b].prefix;
    });
    for (std::uint32_t n : order) {  // deepest first: children are done before their parent
      settle(m_nodes[n]);
    }
    DirFolding folding;
    folding.dir_groups = report_topmost(candidates());
    folding.groups = fold_files();
    return folding;
  }

 private:
  void build_tree(const std::vector<std::string>& walked) {
    std::vector<std::string_view> prefixes(walked.begin(), walked.end());
    std::sort(prefixes.begin(), prefixes.end());
    prefixes.erase(std::unique(prefixes.begin(), prefixes.end()), prefixes.end());
    for (std::string_view prefix : prefixes) {
      if (prefix.empty() || prefix.back() != '/') {
        continue;
      }
      Node node;
      node.prefix = prefix;
      node.depth = static_cast<std::uint32_t>(std::count(prefix.begin(), prefix.end(), '/'));
      m_by_prefix.emplace(prefix, static_cast<std::uint32_t>(m_nodes.size()));
      m_nodes.push_back(std::move(node));
    }
    for (std::uint32_t n = 0; n < m_nodes.size(); ++n) {
      std::string_view prefix = m_nodes[n].prefix;
      if (prefix.size() < 2) {
        continue;
      }
      const std::size_t slash = prefix.rfind('/', prefix.size() - 2);
      if (slash == std::string_view::npos) {
        continue;
      }
      auto parent = m_by_prefix.find(prefix.substr(0, slash + 1));
      if (parent != m_by_prefix.end()) {
        m_nodes[n].parent = parent->second;
        m_nodes[parent->second].children.push_back(n);
      }
    }
  }

  // Whether every entry of `node` is accounted for (see dir_groups.hpp); then its digest.
  void settle(Node& node) {
    for (std::uint32_t c : node.children) {
      node.complete = node.complete && m_nodes[c].complete;
    }
    if (!node.complete || !listed_complete(node)) {
      node.complete = false;
      return;
    }
    std::vector<Member> members;
    for (FileIndex f : node.files) {
      const std::uint64_t size = m_files[f].size;
      members.push_back({m_files.name(f), 'f', size, size == 0 ? empty_content() : m_groups[m_group_of[f]].hash});
    }
    for (const std::string& name : node.empty_files) {
      members.push_back({name, 'f', 0, empty_content()});
    }
    for (const auto& [name, target] : node.symlinks) {
      members.push_back({name, 'l', 0, digest_of(target)});
    }
    for (std::uint32_t c : node.children) {
      const Node& child = m_nodes[c];
      members.push_back({last_component(child.prefix), 'd', child.size, child.digest});
      node.size += child.size;
      node.count += child.count;
    }
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.name < b.name; });
    std::string bytes;
    Digest sum;
    for (const Member& member : members) {
      if (member.kind == 'f' || member.kind == 'l') {
        node.size += member.size;
        ++node.count;
        sum = add(sum, content_digest(member.digest, member.kind == 'l' ? UINT64_MAX : member.size));
      } else {
        sum = add(sum, member.digest);
      }
      const std::uint64_t length = member.name.size();
      bytes += member.kind;
      append_bytes(bytes, &length, sizeof length);
      bytes += member.name;
      append_bytes(bytes, &member.size, sizeof member.size);
      append_bytes(bytes, &member.digest, sizeof member.digest);
    }
    node.digest = m_options.ignore_names ? sum : digest_of(bytes);
  }

  bool listed_complete(Node& node) {
    std::vector<std::string_view> file_names;
    for (FileIndex f : node.files) {
      file_names.push_back(m_files.name(f));
    }
    std::sort(file_names.begin(), file_names.end());
    if (std::adjacent_find(file_names.begin(), file_names.end()) != file_names.end()) {
      return false;  // one entry listed twice (--hard-links across runs of PATHs): not a tree
    }
    std::vector<std::string_view> dir_names;
    for (std::uint32_t c : node.children) {
      dir_names.push_back(last_component(m_nodes[c].prefix));
    }
    std::sort(dir_names.begin(), dir_names.end());
    std::vector<std::string_view> known;
    std::merge(file_names.begin(), file_names.end(), dir_names.begin(), dir_names.end(), std::back_inserter(known));
    std::optional<std::vector<ListedEntry>> entries = m_list(std::string(node.prefix), known);
    if (!entries) {
      return false;
    }
    std::size_t files_seen = 0;
    std::size_t dirs_seen = 0;
    for (ListedEntry& entry : *entries) {
      if (std::binary_search(file_names.begin(), file_names.end(), entry.name)) {
        ++files_seen;
      } else if (std::binary_search(dir_names.begin(), dir_names.end(), entry.name)) {
        ++dirs_seen;
      } else if (entry.kind == ListedEntry::Kind::file && entry.size == 0) {
        node.empty_files.push_back(std::move(entry.name));
      } else if (entry.kind == ListedEntry::Kind::symlink) {
        node.symlinks.emplace_back(std::move(entry.name), std::move(entry.target));
      } else {
        return false;  // filtered out, not walked, not followed, or new since the walk
      }
    }
    // Fewer: something the walk listed is gone.
    return files_seen == file_names.size() && dirs_seen == dir_names.size();
  }

  static Digest empty_content() { return digest_of({}); }

  // Complete directories that hold something (or anything, with --include-empty), grouped by
  // digest, size and file count; with --dirs-ignore-names, split by the exact multiset.
  std::vector<std::vector<std::uint32_t>> candidates() {
    std::vector<std::uint32_t> eligible;
    for (std::uint32_t n = 0; n < m_nodes.size(); ++n) {
      if (m_nodes[n].complete && (m_nodes[n].size > 0 || m_options.include_empty)) {
        eligible.push_back(n);
      }
    }
    const auto key = [&](std::uint32_t n) { return std::tuple(m_nodes[n].digest, m_nodes[n].size, m_nodes[n].count); };
    std::sort(eligible.begin(), eligible.end(), [&](std::uint32_t a, std::uint32_t b) {
      return key(a) != key(b) ? key(a) < key(b) : m_nodes[a].prefix < m_nodes[b].prefix;
    });
    std::vector<std::vector<std::uint32_t>> groups;
    for (std::size_t begin = 0; begin < eligible.size();) {
      std::size_t end = begin + 1;
      while (end < eligible.size() && key(eligible[end]) == key(eligible[begin])) {
        ++end;
      }
      if (end - begin >= 2) {
        std::vector<std::uint32_t> same(eligible.begin() + static_cast<std::ptrdiff_t>(begin),
                                        eligible.begin() + static_cast<std::ptrdiff_t>(end));
        if (m_options.ignore_names) {
          split_by_contents(same, groups);
        } else {
          groups.push_back(std::move(same));
        }
      }
      begin = end;
    }
    return groups;
  }

  // Every file's (size, content) under `n`, sorted.
  void collect_contents(std::uint32_t n, std::vector<std::pair<std::uint64_t, Digest>>& out) const {
    const Node& node = m_nodes[n];
    for (FileIndex f : node.files) {
      const std::uint64_t size = m_files[f].size;
      out.emplace_back(size, size == 0 ? empty_content() : m_groups[m_group_of[f]].hash);
    }
    for (std::size_t i = 0; i < node.empty_files.size(); ++i) {
      out.emplace_back(0, empty_content());
    }
    for (const auto& link : node.symlinks) {
      out.emplace_back(UINT64_MAX, digest_of(link.second));  // a link is never equal to a file
    }
    for (std::uint32_t c : node.children) {
      collect_contents(c, out);
    }
  }

  void split_by_contents(const std::vector<std::uint32_t>& same, std::vector<std::vector<std::uint32_t>>& groups) {
    std::vector<std::pair<std::vector<std::pair<std::uint64_t, Digest>>, std::uint32_t>> keyed;
    for (std::uint32_t n : same) {
      std::vector<std::pair<std::uint64_t, Digest>> contents;
      collect_contents(n, contents);
      std::sort(contents.begin(), contents.end());
      keyed.emplace_back(std::move(contents), n);
    }
    std::sort(keyed.begin(), keyed.end());
    for (std::size_t begin = 0; begin < keyed.size();) {
      std::size_t end = begin + 1;
      while (end < keyed.size() && keyed[end].first == keyed[begin].first) {
        ++end;
      }
      if (end - begin >= 2) {
        std::vector<std::uint32_t> group;
        for (std::size_t i = begin; i < end; ++i) {
          group.push_back(keyed[i].second);
        }
        groups.push_back(std::move(group));
      }
      begin = end;
    }
  }

  bool is_ancestor(std::uint32_t a, std::uint32_t n) const {
    for (std::uint32_t p = m_nodes[n].parent; p != k_none; p = m_nodes[p].parent) {
      if (p == a) {
        return true;
      }
    }
    return false;
  }

  // The topmost duplicates, whatever order the groups come in: a directory of a candidate group
  // is reported when no directory above it is in one (the candidate above it is reported, or
  // one above that). A group with one such directory keeps one other (the first by path, not
  // inside it) as its witness, so a copy of a directory inside a reported one is still reported;
  // a group with none is not reported.
  std::vector<DirGroup> report_topmost(std::vector<std::vector<std::uint32_t>> groups) {
    std::vector<bool> candidate(m_nodes.size(), false);
    for (std::vector<std::uint32_t>& group : groups) {
      // A directory equal to one above it (--dirs-ignore-names only) is not its copy: removing
      // either removes both.
      std::vector<std::uint32_t> apart;
      for (std::uint32_t n : group) {
        if (std::none_of(group.begin(), group.end(), [&](std::uint32_t a) { return is_ancestor(a, n); })) {
          apart.push_back(n);
        }
      }
      group = apart.size() >= 2 ? std::move(apart) : std::vector<std::uint32_t>{};
      for (std::uint32_t n : group) {
        candidate[n] = true;
      }
    }
    for (std::uint32_t n = 0; n < m_nodes.size(); ++n) {
      bool top = candidate[n];
      for (std::uint32_t p = m_nodes[n].parent; p != k_none && top; p = m_nodes[p].parent) {
        top = !candidate[p];
      }
      m_nodes[n].reported = top;
    }
    std::vector<DirGroup> result;
    for (const std::vector<std::uint32_t>& group : groups) {
      std::vector<std::uint32_t> kept;
      std::vector<std::uint32_t> others;
      for (std::uint32_t n : group) {
        (m_nodes[n].reported ? kept : others).push_back(n);
      }
      if (kept.size() == 1) {
        const auto inside_kept = [&](std::uint32_t n) { return is_ancestor(kept.front(), n); };
        others.erase(std::remove_if(others.begin(), others.end(), inside_kept), others.end());
        if (!others.empty()) {
          kept.push_back(*std::min_element(others.begin(), others.end(), [&](std::uint32_t a, std::uint32_t b) {
            return m_nodes[a].prefix < m_nodes[b].prefix;
          }));
        }
      }
      if (kept.size() < 2) {
        for (std::uint32_t n : kept) {
          m_nodes[n].reported = false;  // not reported after all: its files stay in the file groups
        }
        continue;
      }
      DirGroup dir_group{.size = m_nodes[kept.front()].size, .hash = m_nodes[kept.front()].digest, .dirs = {}};
      for (std::uint32_t n : kept) {
        dir_group.dirs.push_back(dir_path(m_nodes[n].prefix));
      }
      std::sort(dir_group.dirs.begin(), dir_group.dirs.end());
      result.push_back(std::move(dir_group));
    }
    std::sort(result.begin(), result.end(), [](const DirGroup& a, const DirGroup& b) {
      return std::tuple(b.wasted(), b.size, a.hash, a.dirs.front()) <
             std::tuple(a.wasted(), a.size, b.hash, b.dirs.front());
    });
    return result;
  }

  // The file groups without the files under a reported directory (see DirFolding).
  std::vector<DuplicateGroup> fold_files() const {
    std::vector<bool> covered(m_nodes.size(), false);
    for (std::uint32_t n = 0; n < m_nodes.size(); ++n) {
      for (std::uint32_t p = n; p != k_none && !covered[n]; p = m_nodes[p].parent) {
        covered[n] = m_nodes[p].reported;
      }
    }
    std::vector<DuplicateGroup> result;
    for (const DuplicateGroup& group : m_groups) {
      DuplicateGroup outside{.size = group.size, .hash = group.hash, .files = {}};
      std::vector<FileIndex> inside;
      for (FileIndex f : group.files) {
        auto node = m_by_prefix.find(m_files.directory(f));
        const bool in_dir = node != m_by_prefix.end() && covered[node->second];
        (in_dir ? inside : outside.files).push_back(f);
      }
      if (outside.files.size() == 1 && !inside.empty()) {
        outside.files.push_back(*std::min_element(
            inside.begin(), inside.end(), [&](FileIndex a, FileIndex b) { return m_files.compare_paths(a, b) < 0; }));
      }
      if (outside.files.size() >= 2) {
        result.push_back(std::move(outside));
      }
    }
    sort_groups(result, m_files);
    return result;
  }

  const FileTable& m_files;
  const std::vector<DuplicateGroup>& m_groups;
  const DirGroupOptions& m_options;
  const DirLister& m_list;
  std::vector<std::uint32_t> m_group_of;  // per file: its group (groups of two or more), or k_none
  std::vector<Node> m_nodes;
  std::unordered_map<std::string_view, std::uint32_t> m_by_prefix;
};

// The target of symlink `name` in directory `fd` whose lstat is `st`; false if it cannot be read
// or changed length meanwhile.
bool read_link(int fd, const char* name, const struct stat& st, std::string& target) {
  target.resize(static_cast<std::size_t>(st.st_size) + 1);
  const ssize_t got = ::readlinkat(fd, name, target.data(), target.size());
  if (got < 0 || static_cast<std::size_t>(got) >= target.size()) {
    return false;
  }
  target.resize(static_cast<std::size_t>(got));
  return true;
}

}  // namespace

std::optional<std::vector<ListedEntry>> list_directory(const std::string& prefix,
                                                       const std::vector<std::string_view>& known) {
  const int fd = open_long_path(prefix.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return std::nullopt;
  }
  std::vector<ListedEntry> entries;
  std::vector<std::byte> buffer(64 * 1024);
  bool failed = false;
  for (;;) {
    const ssize_t got = ::getdents64(fd, buffer.data(), buffer.size());
    if (got <= 0) {
      failed = got < 0;
      break;
    }
    for (ssize_t pos = 0; pos < got;) {
      const auto* dirent = reinterpret_cast<const struct dirent64*>(buffer.data() + pos);
      pos += dirent->d_reclen;
      const char* name = dirent->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        continue;
      }
      ListedEntry entry{.name = name, .kind = ListedEntry::Kind::other, .size = 0, .target = {}};
      const bool is_known = std::binary_search(known.begin(), known.end(), std::string_view(name));
      unsigned char type = dirent->d_type;
      struct stat st {};
      if ((type == DT_UNKNOWN || ((type == DT_REG || type == DT_LNK) && !is_known)) &&
          ::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT) == 0) {
        type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
        entry.size = S_ISREG(st.st_mode) ? static_cast<std::uint64_t>(st.st_size) : 0;
        if (S_ISLNK(st.st_mode) && !read_link(fd, name, st, entry.target)) {
          type = DT_FIFO;
        }
      } else if (!is_known && type != DT_DIR) {
        type = DT_FIFO;  // could not be looked at: accounted for by nothing
      }
      entry.kind = type == DT_DIR   ? ListedEntry::Kind::directory
                   : type == DT_REG ? ListedEntry::Kind::file
                   : type == DT_LNK ? ListedEntry::Kind::symlink
                                    : ListedEntry::Kind::other;
      entries.push_back(std::move(entry));
    }
  }
  ::close(fd);
  if (failed) {
    return std::nullopt;
  }
  return entries;
}

DirFolding find_dir_groups(const FileTable& files, const std::vector<std::string>& walked,
                           const std::vector<DuplicateGroup>& groups, const DirGroupOptions& options,
                           const DirLister& list) {
  return Finder(files, walked, groups, options, list).run();
}

}  // namespace spindle
