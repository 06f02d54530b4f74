#include "fakes/temp_tree.hpp"

#include <spindle/error.hpp>
#include <spindle/log.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace spindle {
namespace {

using fakes::TempSink;

TEST(EscapeForTerminal, PrintableAsciiIsUnchanged) {
  EXPECT_EQ(escape_for_terminal("dir/file name (1).txt"), "dir/file name (1).txt");
  EXPECT_EQ(escape_for_terminal(""), "");
}

TEST(EscapeForTerminal, NewlineAndTabAreNamedEscapes) {
  EXPECT_EQ(escape_for_terminal("a\nb"), "a\\nb");
  EXPECT_EQ(escape_for_terminal("a\tb"), "a\\tb");
}

TEST(EscapeForTerminal, BackslashIsDoubled) {
  // Otherwise a name holding the two characters `\n` would print like a name holding a newline.
  EXPECT_EQ(escape_for_terminal("a\\b"), "a\\\\b");
  EXPECT_EQ(escape_for_terminal("a\\nb"), "a\\\\nb");
}

TEST(EscapeForTerminal, OtherControlBytesAreHex) {
  EXPECT_EQ(escape_for_terminal(std::string("\x01", 1)), "\\x01");
  EXPECT_EQ(escape_for_terminal("\r"), "\\x0d");
  EXPECT_EQ(escape_for_terminal("\x1b[31mred"), "\\x1b[31mred");  // no terminal escape gets through
  EXPECT_EQ(escape_for_terminal("\x7f"), "\\x7f");
  EXPECT_EQ(escape_for_terminal(std::string("a\0b", 3)), "a\\x00b");
}

TEST(EscapeForTerminal, Utf8PassesThrough) {
  EXPECT_EQ(escape_for_terminal("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac"), "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac");
}

TEST(EscapeForTerminal, C1ControlsAreHex) {
  // U+009B is CSI to terminals that obey C1 controls; U+0080..U+009F are all controls, U+00A0 is not.
  EXPECT_EQ(escape_for_terminal("a\xc2\x9b"
                                "2J"),
            "a\\xc2\\x9b2J");
  EXPECT_EQ(escape_for_terminal("\xc2\x80\xc2\x9f\xc2\xa0"), "\\xc2\\x80\\xc2\\x9f\xc2\xa0");
}

TEST(EscapeForTerminal, BytesOutsideUtf8AreHex) {
  // An 8-bit terminal obeys a lone 0x9b as CSI; a Latin-1 name is shown by its bytes.
  EXPECT_EQ(escape_for_terminal("\x9b"
                                "2J"),
            "\\x9b2J");
  EXPECT_EQ(escape_for_terminal("caf\xe9"), "caf\\xe9");
  EXPECT_EQ(escape_for_terminal("\xe2\x82"), "\\xe2\\x82");           // truncated
  EXPECT_EQ(escape_for_terminal("\xc0\xaf"), "\\xc0\\xaf");           // overlong '/'
  EXPECT_EQ(escape_for_terminal("\xed\xa0\x80"), "\\xed\\xa0\\x80");  // a surrogate
  EXPECT_EQ(escape_for_terminal("\xff\xc3\xa9"), "\\xff\xc3\xa9");    // resynchronises on é
}

TEST(FileErrorReason, JoinsOpErrnoAndDetail) {
  EXPECT_EQ((FileError{"p", ENOENT, "open", ""}.reason()), std::string("open: ") + std::strerror(ENOENT));
  EXPECT_EQ((FileError{"p", 0, "changed", "file grew"}.reason()), "changed: file grew");
  EXPECT_EQ((FileError{"p", ELOOP, "loop", "why"}.reason()), std::string("loop: ") + std::strerror(ELOOP) + " (why)");
  EXPECT_EQ((FileError{"p", 0, "stat", ""}.reason()), "stat");
}

TEST(Logger, FileErrorIsOneEscapedLine) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  log.file_error(FileError{"dir/evil\nspindle: forged line", EACCES, "open", ""});
  const std::string text = sink.contents();
  EXPECT_EQ(text, std::string("spindle: dir/evil\\nspindle: forged line: open: ") + std::strerror(EACCES) + "\n");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

TEST(Logger, FileErrorKeepsUtf8AndEscapesControls) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::error);
  log.file_error(FileError{"caf\xc3\xa9\t\x01", 0, "changed", "file shrank while it was read"});
  EXPECT_EQ(sink.contents(), "spindle: caf\xc3\xa9\\t\\x01: changed: file shrank while it was read\n");
}

TEST(Logger, LevelsFilterMessages) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  EXPECT_TRUE(log.enabled(LogLevel::error));
  EXPECT_TRUE(log.enabled(LogLevel::warning));
  EXPECT_FALSE(log.enabled(LogLevel::info));
  EXPECT_FALSE(log.enabled(LogLevel::debug));
  log.debug("d");
  log.info("i");
  log.warning("w");
  log.error("e");
  EXPECT_EQ(sink.contents(), "spindle: warning: w\nspindle: e\n");
}

TEST(Logger, ErrorLevelDropsWarningsButKeepsFileErrors) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::error);
  log.warning("w");
  log.info("i");
  log.file_error(FileError{"f", 0, "changed", "x"});
  log.error("e");
  EXPECT_EQ(sink.contents(), "spindle: f: changed: x\nspindle: e\n");
}

TEST(Logger, DebugLevelShowsEverything) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::debug);
  log.debug("d");
  log.info("i");
  log.log(LogLevel::warning, "w");
  EXPECT_EQ(sink.contents(), "spindle: d\nspindle: i\nspindle: warning: w\n");
}

TEST(Logger, StatusLineIsRedrawnBelowMessages) {
  TempSink sink;
  Logger log(sink.get(), LogLevel::warning);
  log.set_status("50%");
  log.error("e");
  log.clear_status();
  EXPECT_EQ(sink.contents(), "\r\033[K50%\r\033[Kspindle: e\n\r\033[K50%\r\033[K");
}

}  // namespace
}  // namespace spindle
