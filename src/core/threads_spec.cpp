#include <spindle/threads_spec.hpp>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <sched.h>

namespace spindle {

namespace {

constexpr int k_min_threads = 1;
constexpr int k_max_threads = 1024;

// Marks a default that is not a constant: the number of CPUs this process may run on.
constexpr int k_online_cpus = 0;

// The walk waits on directory and inode reads, so it wants queue depth more than CPUs. Walking
// /usr/share (57k files, 4.5k directories) on this machine's virtual disk, `--min-size 1T` so
// nothing is hashed: cold 2 threads 0.55-0.62 s, 8: 0.32-0.41, 16: 0.30, 32: 0.40 (find: 1.0-1.1);
// warm 2: 0.21 s (noisy), 8: 0.090, 16: 0.098 (find: 0.145).
constexpr int k_default_walk_threads = 16;

struct DefaultThreads {
  DeviceClass device_class;
  int small;  // prefix/suffix reads: short random reads, where queue depth pays
  int large;  // whole-file reads: long sequential reads, where too many readers only add seeks
};

// THE table of built-in pool sizes (--help and the man page print it through default_threads()).
// Measured on the 2-core Debian 12 VM whose root disk is virtio-blk on SSD storage (rotational=1),
// cold cache (drop_caches, then lstat of every file as the walk would, then the timed reads),
// std::thread readers pulling from one list, runs repeated while other builds loaded the machine:
//   small: open + 4 KiB pread of each of 57,394 files under /usr/share (114 MB)
//   large: whole-file reads of the same tree (802 MB), and of 344 files > 1 MiB in /usr/lib (3.6 GB)
constexpr std::array<DefaultThreads, 7> k_defaults{{
    // One reader per spindle: parallel reads on one disk only add seeks (design lesson 3), and
    // fclones measured the same after ordering accesses. No spinning disk here to measure.
    {DeviceClass::hdd, 1, 1},
    // USB sticks and SD cards degrade badly under concurrent access, and USB-attached disks are
    // often spinning ones: one reader is the only safe default.
    {DeviceClass::removable, 1, 1},
    // small: 1 thread 4.7-5.0 s, 2: 2.8-3.6, 4: 1.6-2.6, 8: 1.2-2.0, 16: 1.0-1.3, 24: 1.0-1.4,
    //        32: 0.9-1.1, 48: 0.9-1.0, 64: 0.9 -- 32 is the smallest count within ~5% of the best.
    // large: tree 1: 5.3-11.7 s, 4: 2.3-3.2, 8: 2.0-2.3, 16: 1.85-1.96, 32: 1.70-1.89; big files
    //        saturate at 2-4 threads (~880 MB/s). 16 is within 5-8% of 32 with half the buffers.
    // End to end, cold `spindle group` over /usr/share and a copy of it (115k files, 1.9 GB):
    //   virtual:1 14.4-16.2 s, 4: 6.9-7.4, 16,16: 4.8-5.6, 32,8: 4.4-4.6, 32,16: 4.1-5.1, 32,32: 4.5-4.9.
    {DeviceClass::virtual_disk, 32, 16},
    // Not measurable here (no local SSD). The virtual disk above is SSD storage seen through a
    // hypervisor, so a local SSD has at least its queue depth: 32 also matches SATA NCQ's 32
    // commands, and NVMe queues are deeper still. fclones uses 4 x CPUs (8 here) for both.
    {DeviceClass::ssd, 32, 16},
    // Not measurable here (no remote server). Reads wait on round trips, which overlap, but the
    // server and the link are shared with other clients: a modest 4, overridable per site.
    {DeviceClass::network, 4, 4},
    // RAM-backed: reading is a memcpy and hashing is CPU-bound, so one reader per usable CPU.
    {DeviceClass::ram, k_online_cpus, k_online_cpus},
    // Mostly ZFS datasets and FUSE unions (mergerfs) over spinning disks, or a disk whose flag is
    // unreadable. 4 short readers already got the virtual disk from 4.7-5.0 s to 1.6-2.6 s while a
    // disk array's queue can reorder 4; 2 whole-file streams keep seeks between streams rare.
    {DeviceClass::unknown, 4, 2},
}};

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

[[noreturn]] void fail(std::string_view text, std::string_view part, std::string_view why) {
  std::string message = "bad rule '";
  message += part;
  message += "'";
  if (part != text) {
    message += " in '";
    message += text;
    message += "'";
  }
  message += ": ";
  message += why;
  message += "\n  expected ";
  message += threads_grammar();
  throw ThreadsSpecError(message);
}

int parse_count(std::string_view text, std::string_view part, std::string_view digits) {
  if (digits.empty()) {
    fail(text, part, "missing thread count");
  }
  if (!all_digits(digits)) {
    fail(text, part, "'" + std::string(digits) + "' is not a thread count");
  }
  int count = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (error != std::errc() || end != digits.data() + digits.size() || count < k_min_threads || count > k_max_threads) {
    fail(text, part,
         "thread count " + std::string(digits) + " is out of range " + std::to_string(k_min_threads) + ".." +
             std::to_string(k_max_threads));
  }
  return count;
}

// "<name>:<r>" or "dev:<device>:<r>"; the count is after the last ':' so a device may contain ':'.
ThreadsRule parse_named_rule(std::string_view text, std::string_view part) {
  std::size_t first = part.find(':');
  std::size_t last = part.rfind(':');
  std::string_view name = part.substr(0, first);
  ThreadsRule rule;
  if (name == "dev") {
    if (first == last) {
      fail(text, part, "missing device or thread count (dev:<device>:<r>)");
    }
    rule.target = ThreadsRule::Target::device;
    rule.device = std::string(part.substr(first + 1, last - first - 1));
    if (rule.device.empty()) {
      fail(text, part, "missing device after 'dev:'");
    }
  } else {
    if (first != last) {
      fail(text, part, "only dev:<device> rules may contain more than one ':'");
    }
    if (name == "main") {
      rule.target = ThreadsRule::Target::main;
    } else if (name == "default") {
      // fclones spells the bare default `default:N`; accept it so its users' scripts work.
      rule.target = ThreadsRule::Target::fallback;
    } else if (std::optional<DeviceClass> cls = device_class_from_string(name)) {
      rule.target = ThreadsRule::Target::device_class;
      rule.device_class = *cls;
    } else {
      fail(text, part, "unknown name '" + std::string(name) + "'");
    }
  }
  int count = parse_count(text, part, part.substr(last + 1));
  rule.counts = ThreadCounts{count, count};
  return rule;
}

}  // namespace

std::string_view to_string(ThreadsSource source) {
  switch (source) {
    case ThreadsSource::builtin_default:
      return "default";
    case ThreadsSource::calibration:
      return "calibration";
    case ThreadsSource::flag:
      return "flag";
  }
  return "default";
}

int ThreadsSpec::main_threads() const {
  const ThreadsRule* main_rule = nullptr;
  const ThreadsRule* fallback_rule = nullptr;
  for (const ThreadsRule& rule : rules) {
    if (rule.target == ThreadsRule::Target::main) {
      main_rule = &rule;
    } else if (rule.target == ThreadsRule::Target::fallback) {
      fallback_rule = &rule;
    }
  }
  if (main_rule != nullptr) {
    return main_rule->counts.small;
  }
  if (fallback_rule != nullptr) {
    return fallback_rule->counts.small;
  }
  return k_default_walk_threads;
}

std::vector<ThreadsRule> parse_threads_argument(std::string_view text) {
  std::vector<ThreadsRule> rules;
  if (text.empty()) {
    fail(text, text, "empty --threads value");
  }
  // A bare number right after a rule that has no `s` yet is that rule's `s` ("ssd:16,8");
  // anywhere else it starts a new default rule ("4,hdd:1").
  bool last_takes_large = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    std::string_view part = text.substr(start, end - start);
    if (part.empty()) {
      fail(text, part, "empty rule (stray ',')");
    }
    if (all_digits(part)) {
      int count = parse_count(text, part, part);
      if (last_takes_large) {
        rules.back().counts.large = count;
        rules.back().text += ',';
        rules.back().text += part;
        last_takes_large = false;
      } else {
        ThreadsRule rule;
        rule.counts = ThreadCounts{count, count};
        rule.text = std::string(part);
        rules.push_back(std::move(rule));
        last_takes_large = true;
      }
    } else if (part.find(':') != std::string_view::npos) {
      rules.push_back(parse_named_rule(text, part));
      rules.back().text = std::string(part);
      last_takes_large = true;
    } else if (part == "dev" || part == "main" || part == "default" || device_class_from_string(part)) {
      fail(text, part, "missing ':<r>' after '" + std::string(part) + "'");
    } else {
      fail(text, part, "not a thread count or <name>:<r>");
    }
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  return rules;
}

std::string_view threads_grammar() {
  return "[<name>:]<r>[,<s>] rules separated by ',', where <name> is ssd, hdd, virtual, removable, network, ram, "
         "unknown, default, main or dev:<device> (a /dev path or major:minor), <r> the threads for short "
         "prefix/suffix reads and <s> for whole-file reads (default <s> = <r>), each 1..1024; "
         "e.g. 8 or ssd:16,8 or hdd:1,dev:/dev/sdb:2";
}

int usable_cpus() {
  // The affinity mask, not the machine's CPU count: in a container or under taskset, more threads
  // than usable CPUs only contend.
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int count = CPU_COUNT(&set);
    if (count > 0) {
      return count;
    }
  }
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? static_cast<int>(std::min<long>(online, k_max_threads)) : 1;
}

std::string default_threads_text() {
  std::string text;
  for (const DefaultThreads& row : k_defaults) {
    auto count = [](int n) { return n == k_online_cpus ? std::string("<online CPUs>") : std::to_string(n); };
    text += text.empty() ? "" : " ";
    text += std::string(to_string(row.device_class)) + ":" + count(row.small);
    if (row.large != row.small) {
      text += "," + count(row.large);
    }
  }
  return text + " main:" + std::to_string(k_default_walk_threads);
}

ThreadCounts default_threads(DeviceClass cls) {
  for (const DefaultThreads& row : k_defaults) {
    if (row.device_class == cls) {
      int cpus = usable_cpus();
      return ThreadCounts{row.small == k_online_cpus ? cpus : row.small, row.large == k_online_cpus ? cpus : row.large};
    }
  }
  return ThreadCounts{1, 1};
}

}  // namespace spindle
