#include "fakes/watchdog.hpp"

#include <spindle/progress.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>

namespace spindle {
namespace {

// A clock that only moves when the test says so: the rate and the ETA are then exact numbers,
// however slow or loaded the machine is.
class ManualClock {
 public:
  Progress::Clock clock() const {
    return [now = m_now] { return std::chrono::steady_clock::time_point{} + std::chrono::milliseconds(now->load()); };
  }
  void advance(std::chrono::milliseconds by) { m_now->fetch_add(by.count()); }

 private:
  std::shared_ptr<std::atomic<std::int64_t>> m_now = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
};

TEST(Progress, RendersStageFilesAndBytesOfTotal) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock()});
  progress.begin_stage("prefix", 10, 4096 * 10);
  progress.add(3, 4096 * 3);
  // No rate before 0.2 s: too few bytes to say anything.
  EXPECT_EQ(progress.render(), "prefix: 3/10 files, 12.0 KiB/40.0 KiB");
  clock.advance(std::chrono::milliseconds(199));
  EXPECT_EQ(progress.render(), "prefix: 3/10 files, 12.0 KiB/40.0 KiB");
}

TEST(Progress, RateAndEtaComeFromTheBytesDoneSoFar) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock()});
  progress.begin_stage("full", 10, 4096 * 10);
  progress.add(3, 4096 * 3);
  clock.advance(std::chrono::seconds(2));
  // 12 KiB in 2 s: 6 KiB/s, 28 KiB left: 4.67 s, printed as 5.
  EXPECT_EQ(progress.render(), "full: 3/10 files, 12.0 KiB/40.0 KiB, 6.0 KiB/s, ETA 5 s");
  progress.add(7, 4096 * 7);
  EXPECT_EQ(progress.render(), "full: 10/10 files, 40.0 KiB/40.0 KiB, 20.0 KiB/s, ETA 0 s");
}

TEST(Progress, WalkHasNoTotalsAndCountsFilesPerSecond) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock()});
  progress.begin_stage("walk", 0, 0);
  progress.add(7, 0);
  progress.add(5, 0);
  EXPECT_EQ(progress.render(), "walk: 12 files");
  clock.advance(std::chrono::seconds(4));
  EXPECT_EQ(progress.render(), "walk: 12 files, 3 files/s");
}

TEST(Progress, NewStageStartsFromZero) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock()});
  progress.begin_stage("prefix", 2, 0);
  progress.add(2, 0);
  clock.advance(std::chrono::seconds(10));
  progress.begin_stage("full", 5, 0);
  // Counts and the stage's start time are both reset: no rate yet.
  EXPECT_EQ(progress.render(), "full: 0/5 files");
}

std::string read_all(std::FILE* file) {
  std::rewind(file);
  std::string text;
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) {
    text += static_cast<char>(c);
  }
  return text;
}

TEST(Progress, DrawsOnTheSinkAndClearsTheLineWhenDone) {
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  {
    Logger log(sink);
    // Disabled: no drawing thread, so what reaches the sink is exactly what this test drew.
    Progress progress(log, false, {.delay = std::chrono::milliseconds(0)});
    progress.begin_stage("full", 1, 1);
    progress.draw();
    log.error("a message");
    log.clear_status();
  }
  std::string text = read_all(sink);
  std::fclose(sink);
  // The message is printed on a cleared line, the status redrawn after it, and the last thing
  // written erases the status line.
  EXPECT_EQ(text,
            "\r\033[Kfull: 0/1 files, 0 B/1 B\r\033[Kspindle: a message\n\r\033[Kfull: 0/1 files, 0 B/1 B\r\033[K");
}

class ProgressThread : public fakes::WatchedTest {};

TEST_F(ProgressThread, DrawsByItselfAndClearsTheLineWhenDestroyed) {
  // The drawing thread must draw without being asked. Read what it writes through a pipe until
  // the stage's line appears: no sleep and no timing assert; if it never draws, the watchdog
  // fails the test.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::FILE* sink = ::fdopen(fds[1], "w");
  ASSERT_NE(sink, nullptr);
  std::string seen;
  {
    Logger log(sink);
    Progress progress(log, true, {.delay = std::chrono::milliseconds(0)});
    progress.begin_stage("walk", 0, 0);
    progress.add(3, 0);
    char buffer[256];
    while (seen.find("walk: 3 files") == std::string::npos) {
      ssize_t got = ::read(fds[0], buffer, sizeof buffer);
      ASSERT_GT(got, 0);
      seen.append(buffer, static_cast<std::size_t>(got));
    }
  }
  std::fclose(sink);  // the writer is closed: read to the end
  char buffer[256];
  for (ssize_t got = ::read(fds[0], buffer, sizeof buffer); got > 0; got = ::read(fds[0], buffer, sizeof buffer)) {
    seen.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  EXPECT_EQ(seen.substr(seen.size() - 4), "\r\033[K") << "the status line was left on screen";
}

// A fake terminal: a fixed width, and a sink the test reads back.
class FakeTerminal {
 public:
  FakeTerminal() : m_sink(std::tmpfile()) {}
  ~FakeTerminal() { std::fclose(m_sink); }
  FakeTerminal(const FakeTerminal&) = delete;
  FakeTerminal& operator=(const FakeTerminal&) = delete;
  std::FILE* sink() const { return m_sink; }
  std::string text() const { return read_all(m_sink); }

 private:
  std::FILE* m_sink;
};

TEST(Progress, NothingIsDrawnBeforeTheDelay) {
  FakeTerminal terminal;
  Logger log(terminal.sink());
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock(), .delay = std::chrono::milliseconds(500)});
  progress.begin_stage("walk", 0, 0);
  clock.advance(std::chrono::milliseconds(499));
  EXPECT_FALSE(progress.draw());
  EXPECT_EQ(terminal.text(), "") << "a run shorter than the delay must show no line";
  clock.advance(std::chrono::milliseconds(1));
  EXPECT_TRUE(progress.draw());
  EXPECT_EQ(terminal.text(), "\r\033[Kwalk: 0 files, 0 files/s");
}

TEST(Progress, LineIsClippedOneColumnShortOfTheWidth) {
  FakeTerminal terminal;
  Logger log(terminal.sink());
  ManualClock clock;
  Progress progress(log, false,
                    {.clock = clock.clock(), .delay = std::chrono::milliseconds(0), .columns = [] { return 20; }});
  progress.begin_stage("prefix", 10, 4096 * 10);
  ASSERT_GT(progress.render().size(), 19U);
  progress.draw();
  // 19 columns: the line never reaches the last column, so it can never wrap onto a second row.
  EXPECT_EQ(terminal.text(), "\r\033[K" + progress.render().substr(0, 19));
}

TEST(Progress, DumbTerminalGetsNoEscapeSequence) {
  FakeTerminal terminal;
  {
    Logger log(terminal.sink());
    ManualClock clock;
    Progress progress(log, false, {.clock = clock.clock(), .delay = std::chrono::milliseconds(0), .plain = true});
    progress.begin_stage("walk", 0, 0);
    progress.add(123, 0);
    progress.draw();
    log.warning("w");
    progress.begin_stage("hash", 0, 0);
    progress.draw();
    log.clear_status();
  }
  const std::string text = terminal.text();
  EXPECT_EQ(text.find('\033'), std::string::npos) << text;
  // Erased with blanks over the old line's columns; the last thing left is a blank line.
  EXPECT_EQ(text,
            "\rwalk: 123 files"
            "\r               \rspindle: warning: w\n\rwalk: 123 files"
            "\r               \r\rhash: 0 files"
            "\r             \r");
}

TEST(Progress, QuietHidesTheLine) {
  FakeTerminal terminal;
  {
    Logger log(terminal.sink(), LogLevel::error);
    Progress progress(log, true, {.delay = std::chrono::milliseconds(0)});
    EXPECT_FALSE(progress.enabled());
  }
  EXPECT_EQ(terminal.text(), "");
}

TEST(Progress, StageNumberAndEtaOfTheWholeRun) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock(), .stages = 2});
  progress.begin_stage("walk", 0, 0);
  progress.add(10, 0);
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(progress.render(), "stage 1/2 walk: 10 files, 10 files/s");
  progress.begin_stage("hash", 10, 10 * 1024 * 1024);
  progress.add(1, 1024);
  clock.advance(std::chrono::seconds(1));
  // 1 KiB/s with 10 MiB less 1 KiB left: 10239 s, the whole rest of the run.
  EXPECT_EQ(progress.render(), "stage 2/2 hash: 1/10 files, 1.0 KiB/10.0 MiB, 1.0 KiB/s, ETA 2 h 50 min");
}

TEST(Progress, EarlierStageShowsNoEta) {
  Logger log(stderr);
  ManualClock clock;
  Progress progress(log, false, {.clock = clock.clock(), .stages = 3});
  progress.begin_stage("one", 10, 1000);
  progress.add(5, 500);
  clock.advance(std::chrono::seconds(1));
  // The later stages' work is unknown: a rate, but no ETA that would only cover this one.
  EXPECT_EQ(progress.render(), "stage 1/3 one: 5/10 files, 500 B/1000 B, 500 B/s");
}

TEST(Progress, EtaInHoursMinutesAndSeconds) {
  EXPECT_EQ(eta_text(0.4), "0 s");
  EXPECT_EQ(eta_text(59.4), "59 s");
  EXPECT_EQ(eta_text(60), "1 min 00 s");
  EXPECT_EQ(eta_text(3599), "59 min 59 s");
  EXPECT_EQ(eta_text(3600 * 2 + 7 * 60 + 30), "2 h 07 min");
}

}  // namespace
}  // namespace spindle
