#include <spindle/device_class.hpp>
#include <spindle/threads_spec.hpp>

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace spindle {
namespace {

using Target = ThreadsRule::Target;

// The message of the ThreadsSpecError that parsing `text` throws; fails the test if none.
std::string parse_error(const std::string& text) {
  try {
    parse_threads_argument(text);
  } catch (const ThreadsSpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "'" << text << "' was accepted";
  return "";
}

TEST(DeviceClassTest, NamesRoundTrip) {
  for (DeviceClass cls : {DeviceClass::ssd, DeviceClass::hdd, DeviceClass::virtual_disk, DeviceClass::removable,
                          DeviceClass::network, DeviceClass::ram, DeviceClass::unknown}) {
    std::optional<DeviceClass> parsed = device_class_from_string(to_string(cls));
    ASSERT_TRUE(parsed.has_value()) << to_string(cls);
    EXPECT_EQ(*parsed, cls);
  }
  EXPECT_EQ(to_string(DeviceClass::virtual_disk), "virtual");
  EXPECT_EQ(device_class_from_string("virtual"), DeviceClass::virtual_disk);
  EXPECT_FALSE(device_class_from_string("virtual_disk").has_value());
  EXPECT_FALSE(device_class_from_string("SSD").has_value());
  EXPECT_FALSE(device_class_from_string("").has_value());
}

TEST(ThreadsSpecTest, BareCountIsTheDefaultForBothReadKinds) {
  std::vector<ThreadsRule> rules = parse_threads_argument("8");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].target, Target::fallback);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{8, 8}));
}

TEST(ThreadsSpecTest, SecondNumberIsTheWholeFileCount) {
  std::vector<ThreadsRule> rules = parse_threads_argument("16,8");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].target, Target::fallback);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{16, 8}));

  rules = parse_threads_argument("ssd:16,8");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].target, Target::device_class);
  EXPECT_EQ(rules[0].device_class, DeviceClass::ssd);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{16, 8}));
}

TEST(ThreadsSpecTest, SeveralRulesInOneArgument) {
  std::vector<ThreadsRule> rules = parse_threads_argument("ssd:16,hdd:1,dev:/dev/sdb:2");
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0].device_class, DeviceClass::ssd);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{16, 16}));
  EXPECT_EQ(rules[1].target, Target::device_class);
  EXPECT_EQ(rules[1].device_class, DeviceClass::hdd);
  EXPECT_EQ(rules[1].counts, (ThreadCounts{1, 1}));
  EXPECT_EQ(rules[2].target, Target::device);
  EXPECT_EQ(rules[2].device, "/dev/sdb");
  EXPECT_EQ(rules[2].counts, (ThreadCounts{2, 2}));
}

TEST(ThreadsSpecTest, NumberAfterCompleteRuleStartsANewDefaultRule) {
  std::vector<ThreadsRule> rules = parse_threads_argument("4,hdd:1");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].target, Target::fallback);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{4, 4}));
  EXPECT_EQ(rules[1].device_class, DeviceClass::hdd);

  rules = parse_threads_argument("ssd:16,8,4");
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].counts, (ThreadCounts{16, 8}));
  EXPECT_EQ(rules[1].target, Target::fallback);
  EXPECT_EQ(rules[1].counts, (ThreadCounts{4, 4}));
}

TEST(ThreadsSpecTest, DeviceByMajorMinorTakesTheCountAfterTheLastColon) {
  std::vector<ThreadsRule> rules = parse_threads_argument("dev:8:16:2");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].target, Target::device);
  EXPECT_EQ(rules[0].device, "8:16");
  EXPECT_EQ(rules[0].counts, (ThreadCounts{2, 2}));

  rules = parse_threads_argument("dev:/dev/disk/by-id/ata-X:3,1");
  ASSERT_EQ(rules.size(), 1u);
  EXPECT_EQ(rules[0].device, "/dev/disk/by-id/ata-X");
  EXPECT_EQ(rules[0].counts, (ThreadCounts{3, 1}));
}

TEST(ThreadsSpecTest, NamedTargets) {
  EXPECT_EQ(parse_threads_argument("main:3")[0].target, Target::main);
  EXPECT_EQ(parse_threads_argument("default:5")[0].target, Target::fallback);  // fclones' spelling
  EXPECT_EQ(parse_threads_argument("virtual:12")[0].device_class, DeviceClass::virtual_disk);
  for (const char* name : {"ssd", "hdd", "virtual", "removable", "network", "ram", "unknown"}) {
    std::vector<ThreadsRule> rules = parse_threads_argument(std::string(name) + ":7");
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(rules[0].target, Target::device_class);
    EXPECT_EQ(to_string(rules[0].device_class), name);
  }
}

TEST(ThreadsSpecTest, CountBounds) {
  EXPECT_EQ(parse_threads_argument("1")[0].counts, (ThreadCounts{1, 1}));
  EXPECT_EQ(parse_threads_argument("1024,1")[0].counts, (ThreadCounts{1024, 1}));
  EXPECT_NE(parse_error("ssd:0").find("out of range 1..1024"), std::string::npos);
  EXPECT_NE(parse_error("1025").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("99999999999999999999").find("out of range"), std::string::npos);
  EXPECT_NE(parse_error("ssd:4,0").find("out of range"), std::string::npos);
}

TEST(ThreadsSpecTest, ErrorsNameTheBadPartAndShowTheGrammar) {
  struct Case {
    const char* text;
    const char* bad_part;
    const char* reason;
  };
  for (const Case& c : {
           Case{"sdd:4", "'sdd:4'", "unknown name 'sdd'"},
           Case{"ssd:16,sdd:4", "'sdd:4' in 'ssd:16,sdd:4'", "unknown name 'sdd'"},
           Case{"ssd", "'ssd'", "missing ':<r>'"},
           Case{"ssd:", "'ssd:'", "missing thread count"},
           Case{"ssd:x", "'ssd:x'", "'x' is not a thread count"},
           Case{"ssd:1:2", "'ssd:1:2'", "only dev:"},
           Case{"dev::4", "'dev::4'", "missing device"},
           Case{"dev:4", "'dev:4'", "missing device or thread count"},
           Case{"ssd:16,,8", "'' in 'ssd:16,,8'", "empty rule"},
           Case{"hdd:1,", "'' in 'hdd:1,'", "empty rule"},
           Case{"fast", "'fast'", "not a thread count"},
           Case{"-1", "'-1'", "not a thread count"},
           Case{" 4", "' 4'", "not a thread count"},
       }) {
    std::string message = parse_error(c.text);
    EXPECT_NE(message.find(c.bad_part), std::string::npos) << c.text << ": " << message;
    EXPECT_NE(message.find(c.reason), std::string::npos) << c.text << ": " << message;
    EXPECT_NE(message.find(threads_grammar()), std::string::npos) << c.text << ": " << message;
  }
  EXPECT_NE(parse_error("").find("empty"), std::string::npos);
}

TEST(ThreadsSpecTest, MainThreadsPrefersMainThenDefaultThenBuiltIn) {
  ThreadsSpec spec;
  EXPECT_EQ(spec.main_threads(), 16);
  spec.rules = parse_threads_argument("6,ssd:2");
  EXPECT_EQ(spec.main_threads(), 6);
  for (ThreadsRule& rule : parse_threads_argument("main:3,9")) {
    spec.rules.push_back(rule);
  }
  EXPECT_EQ(spec.main_threads(), 3);
  // A later rule for the same target replaces an earlier one.
  spec.rules.push_back(parse_threads_argument("main:5")[0]);
  EXPECT_EQ(spec.main_threads(), 5);
}

TEST(ThreadsSpecTest, DefaultsTable) {
  EXPECT_EQ(default_threads(DeviceClass::hdd), (ThreadCounts{1, 1}));
  EXPECT_EQ(default_threads(DeviceClass::removable), (ThreadCounts{1, 1}));
  ThreadsSpec no_rules;
  cpu_set_t usable;
  CPU_ZERO(&usable);
  ASSERT_EQ(sched_getaffinity(0, sizeof(usable), &usable), 0);
  EXPECT_EQ(default_threads(DeviceClass::ram).small, CPU_COUNT(&usable));  // one per usable CPU
  EXPECT_EQ(no_rules.main_threads(), 16);  // the walk's default: queue depth for metadata reads
  for (DeviceClass cls : {DeviceClass::ssd, DeviceClass::hdd, DeviceClass::virtual_disk, DeviceClass::removable,
                          DeviceClass::network, DeviceClass::ram, DeviceClass::unknown}) {
    ThreadCounts counts = default_threads(cls);
    EXPECT_GE(counts.small, 1) << to_string(cls);
    EXPECT_LE(counts.small, 1024) << to_string(cls);
    EXPECT_GE(counts.large, 1) << to_string(cls);
    EXPECT_LE(counts.large, counts.small) << to_string(cls) << ": whole-file reads never want more readers";
  }
  // Virtual disks lie about being rotational; their default must not be the HDD's single reader.
  EXPECT_GT(default_threads(DeviceClass::virtual_disk).small, 1);
}

TEST(ThreadsSpecTest, SourceNames) {
  EXPECT_EQ(to_string(ThreadsSource::builtin_default), "default");
  EXPECT_EQ(to_string(ThreadsSource::calibration), "calibration");
  EXPECT_EQ(to_string(ThreadsSource::flag), "flag");
}

TEST(ThreadsSpecTest, RulesKeepTheirTextForMessages) {
  std::vector<ThreadsRule> rules = parse_threads_argument("4,ssd:16,8,dev:/dev/sdb:2,hdd:1");
  ASSERT_EQ(rules.size(), 4u);
  EXPECT_EQ(rules[0].text, "4");
  EXPECT_EQ(rules[1].text, "ssd:16,8");
  EXPECT_EQ(rules[2].text, "dev:/dev/sdb:2");
  EXPECT_EQ(rules[3].text, "hdd:1");
}

}  // namespace
}  // namespace spindle
