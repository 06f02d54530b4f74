#pragma once

#include <spindle/device_class.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace spindle {

// Threads of one pool: `small` for the short prefix/suffix reads, `large` for whole-file reads.
struct ThreadCounts {
  int small = 1;
  int large = 1;
  friend bool operator==(const ThreadCounts&, const ThreadCounts&) = default;
};

// One --threads rule, in fclones' grammar `[<name>:]<r>[,<s>]`.
struct ThreadsRule {
  enum class Target { fallback, main, device_class, device };
  Target target = Target::fallback;
  DeviceClass device_class = DeviceClass::unknown;  // when target == device_class
  std::string device;                               // when target == device: "/dev/sdb" or "8:16" as the user wrote it
  ThreadCounts counts;
  std::string text;  // the rule as the user wrote it ("dev:/dev/sdb:2,1"), for messages; may be empty
};

// Where a pool size came from, shown by `spindle devices`.
enum class ThreadsSource { builtin_default, calibration, flag };
std::string_view to_string(ThreadsSource source);

// All --threads rules in the order given; a later rule for the same target replaces an earlier.
struct ThreadsSpec {
  std::vector<ThreadsRule> rules;

  // Threads for the walk and in-memory work ("main:" rule, else the bare default, else 16: the
  // walk waits on metadata reads, so queue depth matters more than the CPU count).
  int main_threads() const;
};

// Thrown by parse_threads_rule; what() names the bad part and shows the grammar.
struct ThreadsSpecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parse one --threads argument, which may hold several comma-free rules separated by ','
// only where unambiguous: "ssd:16,hdd:1" is two rules, "ssd:16,8" is one rule with r=16 s=8.
// Throws ThreadsSpecError.
std::vector<ThreadsRule> parse_threads_argument(std::string_view text);

// The grammar, for error messages and --help.
std::string_view threads_grammar();

// The built-in default pool size of a class (one table, also printed by --help and the man page).
ThreadCounts default_threads(DeviceClass cls);

// CPUs this process may run on (its affinity mask), at least 1.
int usable_cpus();

// The defaults table as --help and the man page print it: "hdd:1 ... ram:<online CPUs> ...".
std::string default_threads_text();

}  // namespace spindle
