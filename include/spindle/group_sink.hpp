#pragma once

#include <spindle/file_table.hpp>
#include <spindle/hash.hpp>

#include <span>

namespace spindle {

// Where duplicate groups go the moment they are final, so a report can be written while the run
// goes on and need not be held in memory (--format jsonl). Groups arrive in the order they are
// decided, which depends on timing; calls never overlap (the caller serializes them). `members`
// are in no particular order; `hash` is the XXH3-128 of their content.
class GroupSink {
 public:
  virtual ~GroupSink() = default;
  virtual void add(const FileTable& files, std::span<const FileIndex> members, const Digest& hash) = 0;
};

}  // namespace spindle
