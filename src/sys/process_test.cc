#include "sys/process.h"

#include <gtest/gtest.h>

namespace berth::sys {
namespace {

TEST(RunProcessTest, CapturesOutputStatusAndStdin) {
  RunOptions o;
  o.stdin_data = "from stdin";
  o.env = {{"BERTH_TEST_VAR", "value"}};
  o.cwd = "/usr";
  auto r = RunProcess({"/bin/sh", "-c", "cat; echo \" $BERTH_TEST_VAR $(pwd)\"; echo oops >&2; exit 3"},
                      o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "from stdin value /usr\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(RunProcessTest, LargeOutputOnBothStreams) {
  auto r = RunProcess({"/bin/sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out.size(), 300000u);
  EXPECT_EQ(r->err.size(), 200000u);
}

TEST(RunProcessTest, SignalledChildAndPathLookup) {
  auto r = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(RunProcessTest, MissingBinaryIsNotFound) {
  auto r = RunProcess({"/nonexistent/berth-no-such-binary"});
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

TEST(RunProcessTest, TimeoutKillsTheChild) {
  RunOptions o;
  o.timeout = absl::Milliseconds(200);
  auto r = RunProcess({"/bin/sleep", "30"}, o);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
}

}  // namespace
}  // namespace berth::sys
