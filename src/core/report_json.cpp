#include "report_formats.hpp"

#include <spindle/device_class.hpp>
#include <spindle/hash.hpp>

namespace spindle {

namespace {

// `"key":` for a key that needs no escaping.
void append_key(std::string& out, std::string_view key) {
  out += '"';
  out += key;
  out += "\":";
}

void append_string(std::string& out, std::string_view bytes) {
  out += '"';
  append_json_escaped(out, bytes);
  out += '"';
}

void append_uint_member(std::string& out, std::string_view key, std::uint64_t value) {
  append_key(out, key);
  append_uint(out, value);
  out += ',';
}

void append_ms_member(std::string& out, std::string_view key, std::uint64_t ns) {
  append_key(out, key);
  append_ms(out, ns);
}

// Why it failed, without the op that FileError::reason() puts first: the op has its own member.
std::string reason_without_op(const FileError& error) {
  std::string reason = error.reason();
  const std::string prefix = error.op + ": ";
  if (!error.op.empty() && reason.starts_with(prefix)) {
    reason.erase(0, prefix.size());
  }
  return reason;
}

// One file of a group: its path and what an action (spindle link, remove...) checks before it
// touches the file: the PATH it was reached from (an index into group's PATHs, which ranks the
// copy to keep), and the identity and times the walk saw, so a file changed since is skipped.
void append_file(std::string& out, const FileTable& files, FileIndex index) {
  const FileEntry& entry = files[index];
  out += '{';
  append_key(out, "path");
  append_string(out, files.path(index));
  out += ',';
  append_uint_member(out, "root", entry.root);
  append_uint_member(out, "device", static_cast<std::uint64_t>(entry.device()));
  append_uint_member(out, "inode", entry.ino);
  append_key(out, "mtime_ns");
  out += std::to_string(entry.mtime_ns);
  out += ',';
  append_key(out, "ctime_ns");
  out += std::to_string(entry.ctime_ns);
  out += '}';
}

// What only some passes count: a full stage's progressive pieces, a paranoid compare's groups.
void append_stage_extras(std::string& out, const StageReport& stage) {
  if (stage.pieces != 0 || stage.bytes_skipped != 0) {
    append_uint_member(out, "pieces", stage.pieces);
    append_uint_member(out, "bytes_skipped", stage.bytes_skipped);
  }
}

void append_stats(std::string& out, const RunStats& stats) {
  append_uint_member(out, "files_scanned", stats.files_scanned);
  append_uint_member(out, "bytes_scanned", stats.bytes_scanned);
  append_uint_member(out, "directories", stats.directories);
  append_uint_member(out, "skipped_special", stats.skipped_special);
  append_uint_member(out, "groups", stats.groups);
  append_uint_member(out, "duplicate_files", stats.duplicate_files);
  append_uint_member(out, "wasted_bytes", stats.wasted_bytes);
  append_uint_member(out, "errors", stats.errors);
  append_uint_member(out, "bytes_read", stats.bytes_read);
  if (stats.cache_used) {
    append_uint_member(out, "cache_hits", stats.cache_hits);
    append_uint_member(out, "cache_misses", stats.cache_misses);
  }
  append_ms_member(out, "elapsed_ms", stats.elapsed_ns);
  out += ",\"stages\":[";
  for (std::size_t i = 0; i < stats.stages.size(); ++i) {
    const StageReport& stage = stats.stages[i];
    out += i == 0 ? "{" : ",{";
    append_key(out, "name");
    append_string(out, stage.name);
    out += ',';
    append_uint_member(out, "files_in", stage.files_in);
    append_uint_member(out, "files_out", stage.files_out);
    append_uint_member(out, "groups_out", stage.groups_out);
    append_uint_member(out, "bytes_read", stage.bytes_read);
    append_stage_extras(out, stage);
    append_ms_member(out, "elapsed_ms", stage.elapsed_ns);
    // Per pool, in the order of "pools": the team size this stage ran with (0: idle).
    out += ",\"pool_threads\":[";
    for (std::size_t p = 0; p < stage.pool_threads.size(); ++p) {
      out += p == 0 ? "" : ",";
      out += std::to_string(stage.pool_threads[p]);
    }
    out += "]}";
  }
  out += "],\"pools\":[";
  for (std::size_t i = 0; i < stats.pools.size(); ++i) {
    const PoolReport& pool = stats.pools[i];
    out += i == 0 ? "{" : ",{";
    append_key(out, "device");
    append_string(out, pool.device);
    out += ',';
    append_key(out, "class");
    append_string(out, to_string(pool.device_class));
    out += ",\"threads\":[";
    out += std::to_string(pool.threads.small);
    out += ',';
    out += std::to_string(pool.threads.large);
    out += "],";
    append_uint_member(out, "files", pool.files);
    append_uint_member(out, "bytes_read", pool.bytes_read);
    append_ms_member(out, "busy_ms", pool.busy_ns);
    out += ',';
    append_ms_member(out, "idle_ms", pool.idle_ns);
    out += ",\"max_running\":";
    out += std::to_string(pool.max_running);
    out += '}';
  }
  out += ']';
}

// A report of --rf-under/--unique says so first, so that the actions' reader (report_read.cpp)
// refuses it before reading a group: its groups lack copies, they are no duplicates to act on.
void append_selection(std::string& out, const GroupResult& result) {
  if (result.rf_under != 0) {
    append_uint_member(out, "rf_under", result.rf_under);
  }
}

// "hash" (null for a one-file group of --rf-under: the file was never read whole, and hashing it
// only for the report would read every unique file) and, in a report of --rf-under, "copies"
// (replication.hpp): a report of duplicates keeps its schema.
void append_group_hash(std::string& out, const DuplicateGroup& group, bool copies) {
  append_key(out, "hash");
  if (group.hashed) {
    append_string(out, to_hex(group.hash));
  } else {
    out += "null";
  }
  if (copies) {
    out += ',';
    append_key(out, "copies");
    append_uint(out, group.copies);
  }
}

// --dirs: "dir_groups":[{"size","hash","dirs":[paths without a trailing '/']}], after "groups".
void append_dir_groups(std::string& out, const GroupResult& result) {
  if (!result.dirs_compared) {
    return;
  }
  out += ",\"dir_groups\":[";
  for (std::size_t g = 0; g < result.dir_groups.size(); ++g) {
    const DirGroup& group = result.dir_groups[g];
    out += g == 0 ? "{" : ",{";
    append_uint_member(out, "size", group.size);
    append_key(out, "hash");
    append_string(out, to_hex(group.hash));
    out += ",\"dirs\":[";
    for (std::size_t d = 0; d < group.dirs.size(); ++d) {
      out += d == 0 ? "" : ",";
      append_string(out, group.dirs[d]);
    }
    out += "]}";
  }
  out += ']';
}

}  // namespace

void JsonReporter::write(const GroupResult& result, std::ostream& out) {
  ChunkedOutput chunks(out);
  std::string& text = chunks.buffer();
  text += '{';
  append_selection(text, result);
  text += "\"groups\":[";
  for (std::size_t g = 0; g < result.groups.size(); ++g) {
    const DuplicateGroup& group = result.groups[g];
    text += g == 0 ? "{" : ",{";
    append_uint_member(text, "size", group.size);
    append_group_hash(text, group, result.rf_under != 0);
    text += ",\"files\":[";
    for (std::size_t f = 0; f < group.files.size(); ++f) {
      if (f != 0) {
        text += ',';
      }
      append_file(text, result.files, group.files[f]);
      chunks.maybe_flush();
    }
    text += "]}";
  }
  text += ']';
  append_dir_groups(text, result);
  text += ",\"stats\":{";
  append_json_stats(text, result);
  text += "}}\n";
  chunks.finish();
}

void append_json_stats(std::string& out, const GroupResult& result) {
  append_stats(out, result.stats);
  // Inside "stats" so the top level stays {"groups","stats"}; one entry per unreadable file.
  out += ",\"errors_list\":[";
  for (std::size_t e = 0; e < result.errors.size(); ++e) {
    const FileError& error = result.errors[e];
    out += e == 0 ? "{" : ",{";
    append_key(out, "path");
    append_string(out, error.path);
    out += ',';
    append_key(out, "op");
    append_string(out, error.op);
    out += ',';
    append_key(out, "reason");
    append_string(out, reason_without_op(error));
    out += '}';
  }
  out += ']';
}

void append_json_group(std::string& out, const FileTable& files, std::uint64_t size, const Digest& hash,
                       std::span<const FileIndex> members) {
  out += '{';
  append_uint_member(out, "size", size);
  append_key(out, "hash");
  append_string(out, to_hex(hash));
  out += ",\"files\":[";
  for (std::size_t f = 0; f < members.size(); ++f) {
    if (f != 0) {
      out += ',';
    }
    append_file(out, files, members[f]);
  }
  out += "]}";
}

}  // namespace spindle
