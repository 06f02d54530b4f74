#pragma once

// Duplicate directories (--dirs): directories whose whole content equals another's, found from
// the file groups' full hashes without reading a byte more, and folded out of the file groups.
//
// A directory is compared by what is under it, recursively: with names (default), the sorted
// list of its entries' names, each with its file's content or its subdirectory's digest; with
// --dirs-ignore-names, the multiset of the contents of all files under it. Only a *complete*
// directory can be a duplicate: every entry it holds now is accounted for, i.e. is
//   - a file of the table that has a copy (it is in a group of two or more: its full hash is
//     known), or an empty regular file (its content is known from its size), or
//   - a symlink not followed (its content is its target's text: equal links are equal), or
//   - a walked subdirectory that is complete itself.
// Anything else makes it incomplete, and so every directory above it: a file with no copy (its
// directory cannot equal another: equal content means each file has a copy), a file left out by
// a filter (--exclude, hidden, --name, a size bound), an unreadable file, a special file, a subdirectory not walked, a
// hard link removed as an alias (without
// --hard-links a directory of hard links to another's files is no copy of it: removing it frees
// nothing), a directory that can no longer be listed. Completeness is checked by listing each
// candidate directory again (one getdents per directory whose files all have copies), so it
// holds whatever filter left a file out.
//
// An empty directory (no bytes under it: only empty files and empty directories) is reported
// only with --include-empty, as empty files are; inside a larger directory it is content like any
// other. Only the topmost duplicates are reported (if a/ equals b/, not also a/x and b/x), and
// files inside reported directories leave the file groups. A directory equal to one inside a
// reported directory (c/x equal to a/x) is still reported, with that one as its witness: the
// group is {a/x, c/x}, c/x being the only directory of the group outside a reported one.

#include <spindle/file_table.hpp>
#include <spindle/group.hpp>
#include <spindle/hash.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// One entry of a directory as it is listed now.
struct ListedEntry {
  enum class Kind { file, directory, symlink, other };  // other: FIFO, socket, device node
  std::string name;
  Kind kind = Kind::other;
  std::uint64_t size = 0;  // files whose name was not `known` only (0 otherwise)
  std::string target;      // a symlink whose name was not `known`: what it points to
};

// Lists directory `prefix` (a path ending in '/'). Entries named in `known` (sorted) may be
// returned without a stat; the others come with their kind and, for a file, its size, for a
// symlink, its target.
// nullopt when the directory cannot be listed (gone, unreadable): it is then incomplete.
using DirLister = std::function<std::optional<std::vector<ListedEntry>>(const std::string& prefix,
                                                                        const std::vector<std::string_view>& known)>;

// The system's lister: open_long_path + getdents64, fstatat (no symlinks followed) for the
// entries that d_type leaves open or that are not `known`, readlinkat for their symlinks.
std::optional<std::vector<ListedEntry>> list_directory(const std::string& prefix,
                                                       const std::vector<std::string_view>& known);

struct DirGroupOptions {
  bool ignore_names = false;   // --dirs-ignore-names
  bool include_empty = false;  // --include-empty: directories with no bytes under them count too
};

// What find_dir_groups found: dir_groups sorted like file groups (most wasted first), each
// group's dirs sorted bytewise; `groups` are the file groups with every file inside a reported
// directory removed. A group left with one file outside keeps that file and the first (by path)
// of its copies inside the reported directories, so a copy outside is still reported; a group
// left with none is dropped.
struct DirFolding {
  std::vector<DirGroup> dir_groups;
  std::vector<DuplicateGroup> groups;
};

// `walked` are the directory prefixes the walk listed (WalkResult::walked_dirs), `groups` the
// file groups (sorted as sort_groups() does). Lists each candidate directory through `list`.
DirFolding find_dir_groups(const FileTable& files, const std::vector<std::string>& walked,
                           const std::vector<DuplicateGroup>& groups, const DirGroupOptions& options,
                           const DirLister& list);

}  // namespace spindle
