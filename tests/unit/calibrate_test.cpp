#include "fakes/temp_tree.hpp"
#include "fakes/watchdog.hpp"

#include <spindle/calibrate.hpp>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>

namespace spindle {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the build's temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "spindle-calibrate-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    m_path = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(m_path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};

// Set an environment variable for one test, restoring the old value afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : m_name(name) {
    if (const char* old = std::getenv(name)) {
      m_old = old;
    }
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (m_old) {
      setenv(m_name.c_str(), m_old->c_str(), 1);
    } else {
      unsetenv(m_name.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string m_name;
  std::optional<std::string> m_old;
};

// A clock that moves only when read: each call returns `step` later than the one before. Which
// measurement runs out of time depends on how many times the code looked at the clock, never on
// how fast (or how loaded) the machine is.
std::function<std::chrono::steady_clock::time_point()> stepping_clock(std::chrono::microseconds step) {
  auto ticks = std::make_shared<std::atomic<std::int64_t>>(0);
  return [ticks, step] { return std::chrono::steady_clock::time_point{} + step * ticks->fetch_add(1); };
}

void write_file(const fs::path& path, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out << std::string(bytes, 'x');
}

TEST(CalibrationStoreTest, PathFollowsXdgConfigHome) {
  ScopedEnv xdg("XDG_CONFIG_HOME", "/tmp/xdg-test");
  EXPECT_EQ(calibration_path(), fs::path("/tmp/xdg-test/spindle/calibration"));
}

TEST(CalibrationStoreTest, RelativeOrMissingXdgConfigHomeFallsBackToHome) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv xdg("XDG_CONFIG_HOME", "relative/config");
    EXPECT_EQ(calibration_path(), fs::path("/home/someone/.config/spindle/calibration"));
  }
  ScopedEnv xdg("XDG_CONFIG_HOME", nullptr);
  EXPECT_EQ(calibration_path(), fs::path("/home/someone/.config/spindle/calibration"));
}

TEST(CalibrationStoreTest, RoundTripThroughATempConfigHome) {
  TempDir dir;
  ScopedEnv xdg("XDG_CONFIG_HOME", dir.path().c_str());
  Logger log(stderr, LogLevel::error);
  fs::path path = calibration_path();
  EXPECT_TRUE(load_calibration(path, log).best_threads.empty());  // missing file: nothing calibrated

  Calibration calibration;
  calibration.best_threads["block:254:0"] = ThreadCounts{32, 16};
  calibration.best_threads["wwid:naa.5000c500a1b2"] = ThreadCounts{1, 1};
  calibration.best_threads["block:8:16+block:8:32"] = ThreadCounts{2, 1};
  save_calibration(calibration, path);  // creates $XDG_CONFIG_HOME/spindle/
  EXPECT_EQ(load_calibration(path, log).best_threads, calibration.best_threads);

  // Rewriting replaces the file and leaves no temporary behind.
  calibration.best_threads["block:254:0"] = ThreadCounts{8, 4};
  save_calibration(calibration, path);
  EXPECT_EQ(load_calibration(path, log).best_threads.at("block:254:0"), (ThreadCounts{8, 4}));
  std::size_t files = 0;
  for ([[maybe_unused]] const fs::directory_entry& entry : fs::directory_iterator(path.parent_path())) {
    ++files;
  }
  EXPECT_EQ(files, 1u);
}

TEST(CalibrationStoreTest, SystemStoreIsInjectableAndDefaultsToEtc) {
  {
    ScopedEnv system("SPINDLE_SYSTEM_CONFIG_DIR", nullptr);
    EXPECT_EQ(system_calibration_path(), fs::path("/etc/spindle/calibration"));
  }
  {
    ScopedEnv system("SPINDLE_SYSTEM_CONFIG_DIR", "relative");  // ignored, as a relative XDG_CONFIG_HOME is
    EXPECT_EQ(system_calibration_path(), fs::path("/etc/spindle/calibration"));
  }
  ScopedEnv system("SPINDLE_SYSTEM_CONFIG_DIR", "/tmp/spindle-system");
  EXPECT_EQ(system_calibration_path(), fs::path("/tmp/spindle-system/calibration"));
}

TEST(CalibrationStoreTest, UsersOwnEntryWinsOverTheSystemStore) {
  TempDir user;
  TempDir system;
  ScopedEnv xdg("XDG_CONFIG_HOME", user.path().c_str());
  ScopedEnv etc("SPINDLE_SYSTEM_CONFIG_DIR", system.path().c_str());
  Logger log(stderr, LogLevel::error);
  Calibration everyone;
  everyone.best_threads["block:8:0"] = ThreadCounts{1, 1};
  everyone.best_threads["block:254:0"] = ThreadCounts{16, 8};
  save_calibration(everyone, system_calibration_path());
  // Only the system store: every user gets its counts.
  EXPECT_EQ(load_calibrations(log).best_threads, everyone.best_threads);

  Calibration mine;
  mine.best_threads["block:254:0"] = ThreadCounts{32, 4};
  save_calibration(mine, calibration_path());
  const Calibration merged = load_calibrations(log);
  EXPECT_EQ(merged.best_threads.at("block:254:0"), (ThreadCounts{32, 4}));  // the user's own
  EXPECT_EQ(merged.best_threads.at("block:8:0"), (ThreadCounts{1, 1}));     // the system's, for the rest
  EXPECT_EQ(merged.best_threads.size(), 2u);
}

TEST(CalibrationStoreTest, SkipsCommentsAndMalformedLines) {
  TempDir dir;
  fs::path path = dir.path() / "calibration";
  std::ofstream(path) << "# comment\n"
                         "\n"
                         "block:8:0 4 2\n"
                         "block:8:16\n"
                         "block:8:32 zero\n"
                         "block:8:48 0 1\n"
                         "block:8:64 2000\n"
                         "block:8:80 2 1 extra\n"
                         "block:8:112 2x 1\n"
                         "   block:8:96   3   \n";  // one count: both read kinds
  Logger log(stderr, LogLevel::error);
  Calibration calibration = load_calibration(path, log);
  EXPECT_EQ(calibration.best_threads.size(), 2u);
  EXPECT_EQ(calibration.best_threads.at("block:8:0"), (ThreadCounts{4, 2}));
  EXPECT_EQ(calibration.best_threads.at("block:8:96"), (ThreadCounts{3, 3}));
}

TEST(CalibrationStoreTest, ParserWorksOnTextAndNamesTheLineOfAMalformedOne) {
  // The loader's parser without a file (also what tests/fuzz/fuzz_calibration drives).
  fakes::TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  Calibration calibration = parse_calibration("# c\nblock:8:0 4 2\nbad 0\n\nnet:nas 3", "the-store", log);
  EXPECT_EQ(calibration.best_threads.size(), 2u);
  EXPECT_EQ(calibration.best_threads.at("block:8:0"), (ThreadCounts{4, 2}));
  EXPECT_EQ(calibration.best_threads.at("net:nas"), (ThreadCounts{3, 3}));  // no final line feed
  EXPECT_EQ(sink.contents(),
            "spindle: warning: the-store:3: ignoring malformed calibration line (expected '<device key> <r> <s>')\n");
  EXPECT_TRUE(parse_calibration("", "empty", log).best_threads.empty());
}

TEST(CalibrationStoreTest, SaveFailsLoudly) {
  Calibration calibration;
  calibration.best_threads["x"] = ThreadCounts{1, 1};
  EXPECT_THROW(save_calibration(calibration, "/proc/spindle-cannot-write/calibration"), Fatal);
}

// What a Logger wrote, for tests that check a warning.
class CapturedLog {
 public:
  CapturedLog() : m_sink(std::tmpfile()), m_log(m_sink, LogLevel::warning) {}
  ~CapturedLog() { std::fclose(m_sink); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  Logger& log() { return m_log; }
  std::string text() {
    std::fflush(m_sink);
    std::rewind(m_sink);
    std::string out;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, m_sink)) {
      out.append(buffer, n);
    }
    return out;
  }

 private:
  std::FILE* m_sink;
  Logger m_log;
};

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (std::size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++n;
  }
  return n;
}

// A FIFO at the store's path used to hang every run in open(); /dev/zero behind a symlink used
// to be read until memory ran out. Both are ignored with one warning naming the store.
TEST(CalibrationStoreTest, FifoOrDeviceStoreIgnoredWithOneWarning) {
  TempDir dir;
  fs::path fifo = dir.path() / "fifo-calibration";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  fs::path zero = dir.path() / "zero-calibration";
  fs::create_symlink("/dev/zero", zero);
  for (const fs::path& path : {fifo, zero}) {
    CapturedLog captured;
    Calibration loaded = fakes::within(std::chrono::seconds(60), "loading " + path.string(),
                                       [&] { return load_calibration(path, captured.log()); });
    EXPECT_TRUE(loaded.best_threads.empty());
    std::string text = captured.text();
    EXPECT_EQ(count(text, path.string()), 1u) << text;
    EXPECT_NE(text.find("not a regular file"), std::string::npos) << text;
  }
}

TEST(CalibrationStoreTest, OversizedStoreIgnoredWithAWarning) {
  TempDir dir;
  fs::path path = dir.path() / "calibration";
  write_file(path, (1 << 20) + 1);
  CapturedLog captured;
  EXPECT_TRUE(load_calibration(path, captured.log()).best_threads.empty());
  EXPECT_NE(captured.text().find("too large"), std::string::npos) << captured.text();
}

// Dotfiles managed by stow are symlinks into a repository: read through, written through (the
// symlink stays, its target gets the new store with its mode kept).
TEST(CalibrationStoreTest, SymlinkedStoreReadAndWrittenThrough) {
  TempDir dir;
  fs::create_directories(dir.path() / "dotfiles" / "spindle");
  fs::create_directories(dir.path() / "config" / "spindle");
  fs::path real = dir.path() / "dotfiles" / "spindle" / "calibration";
  std::ofstream(real) << "block:8:0 4 2\n";
  ASSERT_EQ(chmod(real.c_str(), 0600), 0);
  fs::path link = dir.path() / "config" / "spindle" / "calibration";
  fs::create_symlink(real, link);
  Logger log(stderr, LogLevel::error);
  Calibration calibration = load_calibration(link, log);
  ASSERT_EQ(calibration.best_threads.at("block:8:0"), (ThreadCounts{4, 2}));
  calibration.best_threads["block:8:16"] = ThreadCounts{1, 1};
  save_calibration(calibration, link);
  EXPECT_TRUE(fs::is_symlink(link));
  struct stat st {};
  ASSERT_EQ(stat(real.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(load_calibration(real, log).best_threads, calibration.best_threads);
}

// The old temporary was `<store>.tmp.<pid>`, opened without O_EXCL: a symlink planted there
// (the pid of a run is easy to guess) made the save write through it.
TEST(CalibrationStoreTest, SaveNeverWritesThroughAPlantedTemporaryName) {
  TempDir dir;
  fs::path victim = dir.path() / "victim";
  std::ofstream(victim) << "precious";
  fs::create_directories(dir.path() / "spindle");
  fs::path path = dir.path() / "spindle" / "calibration";
  fs::create_symlink(victim, path.string() + ".tmp." + std::to_string(getpid()));
  Calibration calibration;
  calibration.best_threads["x"] = ThreadCounts{1, 1};
  save_calibration(calibration, path);
  std::ifstream in(victim);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "precious");
  EXPECT_FALSE(fs::is_symlink(path));
  Logger log(stderr, LogLevel::error);
  EXPECT_EQ(load_calibration(path, log).best_threads, calibration.best_threads);
}

TEST(CalibrationStoreTest, StoreThatIsNotARegularFileIsNotWritten) {
  TempDir dir;
  fs::path path = dir.path() / "calibration";
  ASSERT_EQ(mkfifo(path.c_str(), 0644), 0);
  Calibration calibration;
  calibration.best_threads["x"] = ThreadCounts{1, 1};
  EXPECT_THROW(save_calibration(calibration, path), Fatal);
  EXPECT_TRUE(fs::is_fifo(path));
}

CalibrationPoint point(int threads, std::uint64_t files, std::uint64_t bytes, double seconds) {
  CalibrationPoint p;
  p.threads = threads;
  p.files = files;
  p.bytes = bytes;
  p.seconds = seconds;
  p.complete = true;
  return p;
}

TEST(BestThreadCountTest, FewestThreadsWithinToleranceOfTheBest) {
  // The measurement of this machine's virtual disk, roughly: 16 and 32 within 5% of each other.
  std::vector<CalibrationPoint> points{point(1, 1000, 100'000'000, 5.0), point(4, 1000, 100'000'000, 2.0),
                                       point(16, 1000, 100'000'000, 1.03), point(32, 1000, 100'000'000, 1.0)};
  EXPECT_EQ(best_thread_count(points, 0.05), 16);
  EXPECT_EQ(best_thread_count(points, 0.0), 32);
  EXPECT_EQ(best_thread_count(points, 0.6), 4);
  // A disk that only gets slower with more readers.
  std::vector<CalibrationPoint> hdd{point(1, 100, 50'000'000, 1.0), point(2, 100, 50'000'000, 1.3),
                                    point(4, 100, 50'000'000, 1.8)};
  EXPECT_EQ(best_thread_count(hdd, 0.05), 1);
  EXPECT_EQ(best_thread_count({}, 0.05), 0);
}

CalibrationPoint spread_point(int threads, double seconds, double low, double high) {
  CalibrationPoint p;
  p.threads = threads;
  p.files = 100;
  p.bytes = 100'000'000;
  p.seconds = seconds;
  p.runs = 3;
  p.low = low;
  p.high = high;
  return p;
}

TEST(SeriesNoiseTest, ClearDifferencesAreNotNoise) {
  // 20 MB/s (19..21) against 50 MB/s (48..52): the ranges do not meet.
  std::vector<CalibrationPoint> points{spread_point(1, 5.0, 19, 21), spread_point(8, 2.0, 48, 52)};
  EXPECT_EQ(series_noise(points, std::chrono::milliseconds(50)), "");
}

TEST(SeriesNoiseTest, OverlappingRangesAreNoise) {
  // Medians 20 and 22 MB/s, but the faster count's slowest run (18) is slower than the slower
  // count's fastest (23): nothing tells them apart.
  std::vector<CalibrationPoint> points{spread_point(1, 5.0, 17, 23), spread_point(8, 100.0 / 22, 18, 26)};
  EXPECT_EQ(series_noise(points, std::chrono::milliseconds(50)),
            "every thread count is within the noise: the fastest, 8 threads, ran as slow as 18.0 MB/s and the "
            "slowest, 1 thread, as fast as 23.0 MB/s");
}

TEST(SeriesNoiseTest, RunsTooShortToTimeAreNoise) {
  std::vector<CalibrationPoint> points{spread_point(1, 0.010, 10, 11), spread_point(8, 0.002, 50, 51)};
  EXPECT_EQ(series_noise(points, std::chrono::milliseconds(50)),
            "the runs with 1 thread took 10.0 ms, too short to time");
}

TEST(BestThreadCountTest, FilesPerSecondWhenNothingWasRead) {
  std::vector<CalibrationPoint> points{point(1, 100, 0, 1.0), point(2, 300, 0, 1.0)};
  EXPECT_EQ(best_thread_count(points, 0.05), 2);
}

class SampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(m_dir.path() / "a" / "b");
    for (int i = 0; i < 40; ++i) {
      write_file(m_dir.path() / "a" / ("f" + std::to_string(i)), 1000 + static_cast<std::size_t>(i));
    }
    write_file(m_dir.path() / "a" / "b" / "deep", 5000);
    write_file(m_dir.path() / "empty", 0);
    fs::create_symlink(m_dir.path() / "a" / "f0", m_dir.path() / "link");
    struct stat st {};
    ASSERT_EQ(stat(m_dir.path().c_str(), &st), 0);
    m_st_dev = st.st_dev;
  }

  std::vector<std::string> sample(const CalibrationOptions& options, std::uint64_t st_dev) {
    std::vector<std::string> roots{m_dir.path().string()};
    std::vector<std::uint64_t> st_devs{st_dev};
    return sample_files(roots, st_devs, options, options.clock() + std::chrono::hours(1), m_cancel);
  }

  TempDir m_dir;
  std::uint64_t m_st_dev = 0;
  CancelToken m_cancel;
};

TEST_F(SampleTest, FindsNonEmptyRegularFilesSortedByInode) {
  std::vector<std::string> files = sample(CalibrationOptions{}, m_st_dev);
  ASSERT_EQ(files.size(), 41u);  // 40 + deep; not the empty file, not the symlink
  for (const std::string& file : files) {
    EXPECT_EQ(file.find("empty"), std::string::npos);
    EXPECT_EQ(file.find("link"), std::string::npos);
  }
  ino_t previous = 0;
  for (const std::string& file : files) {
    struct stat st {};
    ASSERT_EQ(lstat(file.c_str(), &st), 0) << file;
    EXPECT_GT(st.st_ino, previous);
    previous = st.st_ino;
  }
}

TEST_F(SampleTest, StaysWithinBoundsAndOnTheGivenDevice) {
  CalibrationOptions options;
  options.max_files = 10;
  EXPECT_EQ(sample(options, m_st_dev).size(), 10u);
  EXPECT_TRUE(sample(CalibrationOptions{}, m_st_dev + 1).empty());  // nothing lives on another device
  m_cancel.cancel();
  EXPECT_LE(sample(CalibrationOptions{}, m_st_dev).size(), 1u);
}

TEST_F(SampleTest, CalibrateReadsTheSameFilesAtEveryCount) {
  CalibrationOptions options;
  options.thread_counts = {4, 1, 2};
  options.budget = std::chrono::seconds(5);
  // 1 ms per look at the clock: every run gets hundreds of looks, and needs about 45.
  options.clock = stepping_clock(std::chrono::milliseconds(1));
  options.drop_caches = false;  // a unit test must not flush the machine's page cache
  options.small_read_bytes = 100;
  // The fake clock's runs last ~45 ms, shorter than a real run must be to be timed.
  options.min_run = std::chrono::milliseconds(0);
  std::vector<std::string> files = sample(options, m_st_dev);
  PhysicalDevice device;
  device.facts.key = "block:1:2";
  device.facts.name = "test";
  Logger log(stderr, LogLevel::error);
  CalibrationResult result = calibrate(device, files, options, log, m_cancel);
  EXPECT_EQ(result.key, "block:1:2");
  EXPECT_EQ(result.sample_files, 41u);
  for (const std::vector<CalibrationPoint>* series : {&result.small, &result.large}) {
    ASSERT_EQ(series->size(), 3u);
    EXPECT_EQ((*series)[0].threads, 1);  // fewest first: it sets the files every count reads
    EXPECT_EQ((*series)[1].threads, 2);
    EXPECT_EQ((*series)[2].threads, 4);
    for (const CalibrationPoint& p : *series) {
      EXPECT_EQ(p.runs, 3);  // each count measured three times, its point the median run
      EXPECT_LE(p.low, p.high);
      EXPECT_TRUE(p.complete);
      EXPECT_EQ(p.files, 41u);
      EXPECT_GT(p.mb_per_s(), 0);
    }
  }
  // Small reads take the first 100 bytes of each file; whole-file reads all of it.
  EXPECT_EQ(result.small[0].bytes, 41u * 100);
  EXPECT_EQ(result.large[0].bytes, 40u * 1000 + 39 * 40 / 2 + 5000);
  EXPECT_TRUE(result.ok());
  for (int best : {result.best.small, result.best.large}) {
    EXPECT_TRUE(best == 1 || best == 2 || best == 4) << best;
  }
  EXPECT_EQ(result.cache, CacheDrop::none);
}

TEST_F(SampleTest, FirstCountStopsAtItsSliceAndLaterCountsReadWhatItRead) {
  // 41 files listed 50 times over: more than the first run's slice lets it read. With 1 ms per
  // look at the clock and one look per file, the slice of the first small-read run (a third of
  // half the budget: 300 ms) ends after about 300 files.
  CalibrationOptions options;
  options.thread_counts = {2, 1};
  options.budget = std::chrono::milliseconds(1800);
  options.clock = stepping_clock(std::chrono::milliseconds(1));
  options.drop_caches = false;
  options.repeats = 1;  // one run per count: the slice arithmetic below is that of one run
  options.min_run = std::chrono::milliseconds(0);
  options.small_read_bytes = 100;
  std::vector<std::string> sampled = sample(options, m_st_dev);
  ASSERT_EQ(sampled.size(), 41u);
  std::vector<std::string> files;
  for (int copy = 0; copy < 50; ++copy) {
    files.insert(files.end(), sampled.begin(), sampled.end());
  }
  PhysicalDevice device;
  device.facts.name = "test";
  Logger log(stderr, LogLevel::error);
  CalibrationResult result = calibrate(device, files, options, log, m_cancel);
  for (const std::vector<CalibrationPoint>* series : {&result.small, &result.large}) {
    ASSERT_EQ(series->size(), 2u);
    const CalibrationPoint& first = (*series)[0];
    const CalibrationPoint& second = (*series)[1];
    EXPECT_EQ(first.threads, 1);
    EXPECT_FALSE(first.complete) << "the first run should have run out of its slice";
    EXPECT_GT(first.files, 0u);
    EXPECT_LT(first.files, files.size());
    EXPECT_EQ(second.threads, 2);
    EXPECT_TRUE(second.complete) << "the second run gets the rest of the series' budget";
    EXPECT_EQ(second.files, first.files) << "every count of a series reads the files the first one got through";
  }
  // The small series' first slice: 1800 ms / 2 / 3 = 300 looks at the clock, a few of them not per file.
  EXPECT_GE(result.small[0].files, 290u);
  EXPECT_LE(result.small[0].files, 300u);
  // The whole-file series starts with its half plus what the small series left over, so its
  // first run gets a longer slice and reads more files.
  EXPECT_GT(result.large[0].files, result.small[0].files);
  EXPECT_TRUE(result.ok());
}

TEST_F(SampleTest, RunsTooShortToTimeStoreNothing) {
  CalibrationOptions options;
  options.thread_counts = {1, 2};
  options.budget = std::chrono::seconds(5);
  options.clock = stepping_clock(std::chrono::milliseconds(1));
  options.drop_caches = false;
  options.small_read_bytes = 100;
  options.min_run = std::chrono::milliseconds(1000);  // the fake clock's runs last ~45 ms
  std::vector<std::string> files = sample(options, m_st_dev);
  PhysicalDevice device;
  device.facts.name = "test";
  Logger log(stderr, LogLevel::error);
  CalibrationResult result = calibrate(device, files, options, log, m_cancel);
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.refused.starts_with("small reads: the runs with 1 thread took ")) << result.refused;
  EXPECT_TRUE(result.refused.ends_with(" ms, too short to time")) << result.refused;
}

TEST_F(SampleTest, SamplingStopsAtTheDeadline) {
  // One look at the clock per entry considered: a deadline 10 looks away stops the walk early.
  CalibrationOptions options;
  options.clock = stepping_clock(std::chrono::milliseconds(1));
  std::vector<std::string> roots{m_dir.path().string()};
  std::vector<std::uint64_t> st_devs{m_st_dev};
  std::vector<std::string> files =
      sample_files(roots, st_devs, options, options.clock() + std::chrono::milliseconds(10), m_cancel);
  EXPECT_GT(files.size(), 0u);
  EXPECT_LT(files.size(), 41u);
}

TEST_F(SampleTest, TooSmallASampleGivesNoResult) {
  CalibrationOptions options;
  options.min_files = 100;
  options.drop_caches = false;
  PhysicalDevice device;
  device.facts.name = "test";
  Logger log(stderr, LogLevel::error);
  CalibrationResult result = calibrate(device, sample(options, m_st_dev), options, log, m_cancel);
  EXPECT_FALSE(result.ok());
  EXPECT_TRUE(result.small.empty());
  EXPECT_TRUE(result.large.empty());
}

}  // namespace
}  // namespace spindle
