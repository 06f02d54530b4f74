#pragma once

// Replication factors (--rf-over, --rf-under, --unique) and --isolate: how many copies a group
// of identical files holds, which groups a run reports, and which size groups it need not read.

#include <spindle/config.hpp>
#include <spindle/error.hpp>
#include <spindle/file_table.hpp>
#include <spindle/group.hpp>
#include <spindle/log.hpp>
#include <spindle/stages.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace spindle {

// How many copies `members` (files of equal content, or candidates of equal size) are: distinct
// inodes; every path with --hard-links (config.hard_links); with --isolate (config.isolate)
// distinct roots, so copies within one PATH count as one.
std::size_t count_copies(std::span<const FileIndex> members, const FileTable& files, const Config& config);

// Whether a group of `copies` copies belongs in the report: fewer than config.rf_under when that
// is set (a report of what lacks copies), else more than config.rf_over.
bool reported(std::size_t copies, const Config& config);

// Drop the size groups no report can hold, before anything is read: with --rf-over N (N > 1) or
// --isolate, a size group of at most N copies (for --isolate: all under one root) cannot become a
// group of more than N. With --rf-under nothing is dropped: its report needs every group's members.
Candidates drop_unreportable(Candidates candidates, const FileTable& files, const Config& config);

// The report's groups: those of `found` (the hashed groups of identical files) that `reported`
// keeps, each with its copy count; with --rf-under, also every other file of `files` that has no
// copy at all (its size or a partial hash was unique: it was never read whole), as a one-file
// group with hashed = false. Files that could not be read (`errors`, by path) have an unknown
// number of copies and are left out. Unsorted.
std::vector<DuplicateGroup> select_groups(const Candidates& found, const FileTable& files, const Config& config,
                                          const std::vector<FileError>& errors);

// With --isolate, the PATHs that an earlier PATH contains (or names again): the walk lists their
// files under that earlier PATH (walk.hpp), so they are no root of their own. Indices into
// config.paths, ascending; empty without --isolate.
std::vector<std::size_t> absorbed_roots(const Config& config);

}  // namespace spindle
