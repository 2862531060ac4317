#include "base/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::log {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

TEST(LogTest, ParseLevelAcceptsLevelNames) {
  struct Case {
    const char* name;
    Level level;
  };
  for (const Case& c :
       {Case{"trace", Level::kTrace}, Case{"debug", Level::kDebug}, Case{"info", Level::kInfo},
        Case{"warn", Level::kWarn}, Case{"warning", Level::kWarn}, Case{"error", Level::kError},
        Case{"INFO", Level::kInfo}, Case{"Debug", Level::kDebug}}) {
    absl::StatusOr<Level> l = ParseLevel(c.name);
    ASSERT_TRUE(l.ok()) << c.name << ": " << l.status();
    EXPECT_EQ(*l, c.level) << c.name;
  }
}

TEST(LogTest, ParseLevelRejectsOthers) {
  for (const char* name : {"", "verbose", "inf", "info ", "fatal2"}) {
    absl::StatusOr<Level> l = ParseLevel(name);
    ASSERT_FALSE(l.ok()) << name;
    EXPECT_EQ(l.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(l.status().message());
    EXPECT_THAT(message, HasSubstr(std::string("\"") + name + "\""));
    EXPECT_THAT(message, ::testing::EndsWith(": invalid argument"));
  }
}

// Runs `fn` with stderr redirected to a pipe and returns what it wrote.
template <typename Fn>
std::string CaptureStderr(Fn fn) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return "pipe failed";
  int saved = dup(STDERR_FILENO);
  dup2(fds[1], STDERR_FILENO);
  close(fds[1]);
  fn();
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  return out;
}

class LogOutputTest : public ::testing::Test {
 protected:
  void TearDown() override { SetLevel(Level::kInfo); }
};

TEST_F(LogOutputTest, WritesOneLogfmtLine) {
  SetLevel(Level::kInfo);
  std::string out = CaptureStderr([] {
    Info("serving", {{"address", "/run/berth/berthd.sock"}, {"note", "two words"}, {"n", 3}});
  });
  EXPECT_THAT(out, MatchesRegex("time=\"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\."
                                "[0-9]{6}Z\" level=info msg=serving "
                                "address=/run/berth/berthd.sock note=\"two words\" n=3\n"));
}

TEST_F(LogOutputTest, QuotesAndEscapesValues) {
  std::string out = CaptureStderr([] {
    Error("failed to start shim",
          {{"error", "exec \"runc\": not found"}, {"k", "a=b"}, {"nl", "a\nb"}});
  });
  EXPECT_THAT(out, HasSubstr("level=error msg=\"failed to start shim\" "
                             "error=\"exec \\\"runc\\\": not found\" k=\"a=b\" "
                             "nl=\"a\\nb\"\n"));
}

TEST_F(LogOutputTest, LevelFiltersRecords) {
  SetLevel(Level::kWarn);
  EXPECT_FALSE(Enabled(Level::kInfo));
  EXPECT_TRUE(Enabled(Level::kError));
  std::string out = CaptureStderr([] {
    Debug("hidden debug");
    Info("hidden info");
    Warn("shown", {{"id", "c1"}});
  });
  EXPECT_THAT(out, Not(HasSubstr("hidden")));
  EXPECT_THAT(out, HasSubstr("level=warning msg=shown id=c1\n"));

  SetLevel(Level::kDebug);
  out = CaptureStderr([] { Debug("now shown"); });
  EXPECT_THAT(out, HasSubstr("level=debug msg=\"now shown\"\n"));
}

}  // namespace
}  // namespace berth::log
