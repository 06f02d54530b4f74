// `spindle hash --check`: verify checksum listings, as `xxh128sum -c` and `sha256sum -c` do.
#include "commands.hpp"
#include "exit_code.hpp"
#include "listing_output.hpp"
#include "output.hpp"

#include <spindle/calibrate.hpp>
#include <spindle/checksum_line.hpp>
#include <spindle/checksum_reader.hpp>
#include <spindle/device.hpp>
#include <spindle/hash_run.hpp>
#include <spindle/path_list.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <string>
#include <vector>

namespace spindle::cli {

namespace {

// A listed file that cannot be hashed before any read (missing, a directory, a FIFO): its line
// comes where the listing has it.
struct EarlyFailure {
  std::size_t line = 0;  // among the well-formed lines of all listings
  FileError error;
};

// The well-formed lines of every listing, as files to hash and what their digests must be.
struct CheckPlan {
  FileTable files;
  std::vector<HashAlgo> algos;       // per file
  std::vector<Digest> expected;      // per file
  std::vector<std::size_t> line_of;  // per file
  std::vector<EarlyFailure> early;   // in line order
  std::size_t lines = 0;
  std::size_t unreadable_listings = 0;
  bool empty_listing = false;  // a listing without one well-formed line
};

void add_entry(CheckPlan& plan, ChecksumEntry entry) {
  const std::size_t line = plan.lines++;
  struct stat st {};
  // Followed, as xxhsum and sha256sum open the name.
  if (::stat(entry.path.c_str(), &st) != 0) {
    plan.early.push_back({line, FileError{entry.path, errno, "open", ""}});
    return;
  }
  if (!S_ISREG(st.st_mode)) {
    plan.early.push_back(
        {line, FileError{entry.path, S_ISDIR(st.st_mode) ? EISDIR : 0, "open", "not a regular file, not read"}});
    return;
  }
  const std::size_t slash = entry.path.rfind('/');
  if (entry.path.size() - (slash == std::string::npos ? 0 : slash + 1) > FileEntry::k_max_name) {
    plan.early.push_back({line, FileError{entry.path, ENAMETOOLONG, "open", ""}});
    return;
  }
  FileEntry file;
  file.size = static_cast<std::uint64_t>(st.st_size);
  file.ino = st.st_ino;
  file.set_device(st.st_dev);
  file.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  file.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  plan.files.add(file, entry.path);
  plan.algos.push_back(entry.algo);
  plan.expected.push_back(entry.digest);
  plan.line_of.push_back(line);
}

CheckPlan read_listings(const std::vector<std::string>& listings, bool zero, bool warn, Logger& log) {
  CheckPlan plan;
  for (const std::string& listing : listings) {
    const std::string name = listing == "-" ? std::string("standard input") : listing;
    std::size_t malformed = 0;
    std::size_t wellformed = 0;
    std::optional<FileError> error = read_records(listing, zero ? '\0' : '\n', [&](std::string_view line) {
      std::optional<ChecksumEntry> entry =
          line.starts_with('{') ? parse_json_record(line) : parse_checksum_line(line, zero);
      if (!entry) {
        ++malformed;
        return;
      }
      ++wellformed;
      add_entry(plan, std::move(*entry));
    });
    if (error) {
      log.file_error(*error);
      ++plan.unreadable_listings;
      continue;
    }
    if (wellformed == 0) {
      log.error(escape_for_terminal(name) + ": no properly formatted checksum lines found");
      plan.empty_listing = true;
    } else if (malformed > 0 && warn) {
      log.warning(escape_for_terminal(name) + ": " + std::to_string(malformed) +
                  (malformed == 1 ? " line is" : " lines are") + " improperly formatted");
    }
  }
  return plan;
}

// `path: OK`, with the name escaped as a listing escapes it (a leading '\' when it holds one).
void append_verdict(std::string& out, std::string_view path, std::string_view verdict) {
  if (path.find_first_of("\\\n\r") != std::string_view::npos) {
    out += '\\';
    for (char c : path) {
      out += c == '\\'   ? std::string("\\\\")
             : c == '\n' ? std::string("\\n")
             : c == '\r' ? std::string("\\r")
                         : std::string(1, c);
    }
  } else {
    out += path;
  }
  out += ": ";
  out += verdict;
  out += '\n';
}

}  // namespace

int run_check(Context& context, const HashOptions& options, const std::vector<std::string>& listings) {
  const Config& config = context.config;
  Logger log = make_logger(config);
  const bool print_ok = !options.status && config.verbosity >= 0;  // -q/--quiet: failures only
  const bool print_failed = !options.status;
  OutputFile output = open_report(config.output_path, context.cancel);
  CheckPlan plan = read_listings(listings, options.zero, !options.status, log);
  if (context.cancel.cancelled()) {
    log.error("interrupted");
    return k_exit_interrupted;
  }
  std::unique_ptr<DeviceProbe> probe = make_system_probe();
  const Calibration calibration = load_calibrations(log);
  std::vector<FileIndex> order(plan.files.size());
  for (FileIndex f = 0; f < order.size(); ++f) {
    order[f] = f;
  }
  ChecksumReader reader(HashAlgo::xxh128, plan.algos);
  Progress progress(log, progress_enabled(config.progress));
  std::size_t mismatched = 0;
  std::size_t unreadable = 0;
  HashRunResult result;
  const bool complete = write_listing(output, [&](std::ostream& out) {
    LineWriter writer(out, output.is_terminal());
    std::size_t next_early = 0;
    const auto early_until = [&](std::size_t line) {
      for (; next_early < plan.early.size() && plan.early[next_early].line < line; ++next_early) {
        log.file_error(plan.early[next_early].error);
        ++unreadable;
        if (print_failed) {
          append_verdict(writer.text(), plan.early[next_early].error.path, "FAILED open or read");
        }
      }
    };
    const HashJob job{.config = config,
                      .log = log,
                      .cancel = context.cancel,
                      .files = plan.files,
                      .order = order,
                      .probe = *probe,
                      .calibration = calibration,
                      .reader = reader,
                      .progress = progress};
    std::string path;
    result = hash_in_order(job, [&](FileIndex f, const Result<Digest>& digest) {
      early_until(plan.line_of[f]);
      path.clear();
      plan.files.append_path(f, path);
      if (!digest.ok()) {
        ++unreadable;
        if (print_failed) {
          append_verdict(writer.text(), path, "FAILED open or read");
        }
      } else if (*digest != plan.expected[f]) {
        ++mismatched;
        if (print_failed) {
          append_verdict(writer.text(), path, "FAILED");
        }
      } else if (print_ok) {
        append_verdict(writer.text(), path, "OK");
      }
      return writer.line_done();
    });
    if (!result.cancelled && !result.stopped) {
      early_until(plan.lines);
    }
    writer.flush();
    return !result.cancelled;
  });
  if (!complete) {
    log.error("interrupted: verification incomplete");
    return k_exit_interrupted;
  }
  if (!options.status) {
    if (unreadable > 0) {
      log.warning(std::to_string(unreadable) + (unreadable == 1 ? " listed file" : " listed files") +
                  " could not be read");
    }
    if (mismatched > 0) {
      log.warning(std::to_string(mismatched) + (mismatched == 1 ? " computed checksum" : " computed checksums") +
                  " did NOT match");
    }
  }
  if (config.stats) {
    log.write_raw(hash_stats_text(result, plan.files.size(), 0));
  }
  if (unreadable > 0 || plan.unreadable_listings > 0) {
    return k_exit_check_unreadable;
  }
  return mismatched > 0 || plan.empty_listing ? k_exit_check_mismatch : k_exit_ok;
}

}  // namespace spindle::cli
