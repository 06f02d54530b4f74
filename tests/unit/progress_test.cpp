#include <spindle/progress.hpp>

#include <gtest/gtest.h>

#include <cstdio>

namespace spindle {
namespace {

TEST(Progress, RendersStageFilesAndBytesOfTotal) {
  Logger log(stderr);
  Progress progress(log, false);
  progress.begin_stage("prefix", 10, 4096 * 10);
  progress.add(3, 4096 * 3);
  std::string line = progress.render();
  EXPECT_EQ(line.rfind("prefix: 3/10 files, 12.0 KiB/40.0 KiB", 0), 0u) << line;
}

TEST(Progress, WalkHasNoTotals) {
  Logger log(stderr);
  Progress progress(log, false);
  progress.begin_stage("walk", 0, 0);
  progress.add(7, 0);
  progress.add(5, 0);
  EXPECT_EQ(progress.render().rfind("walk: 12 files", 0), 0u) << progress.render();
}

TEST(Progress, NewStageStartsFromZero) {
  Logger log(stderr);
  Progress progress(log, false);
  progress.begin_stage("prefix", 2, 0);
  progress.add(2, 0);
  progress.begin_stage("full", 5, 0);
  EXPECT_EQ(progress.render().rfind("full: 0/5 files", 0), 0u) << progress.render();
}

TEST(Progress, DrawsOnTheSinkAndClearsTheLineWhenDone) {
  std::FILE* sink = std::tmpfile();
  ASSERT_NE(sink, nullptr);
  {
    Logger log(sink);
    Progress progress(log, true);
    progress.begin_stage("full", 1, 1);
    log.set_status(progress.render());  // what the drawing thread does every 100 ms
    log.error("a message");
  }
  std::rewind(sink);
  std::string text;
  for (int c = std::fgetc(sink); c != EOF; c = std::fgetc(sink)) {
    text += static_cast<char>(c);
  }
  std::fclose(sink);
  // The message is printed on a cleared line, the status redrawn after it, and the last thing
  // written erases the status line.
  EXPECT_NE(text.find("\r\033[Kspindle: a message\n\r\033[Kfull: 0/1 files"), std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");
}

}  // namespace
}  // namespace spindle
