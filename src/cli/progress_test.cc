#include "cli/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace berth::cli {
namespace {

TEST(ProgressLineTest, BarWithKnownTotal) {
  EXPECT_EQ(ProgressLine("importing", 512 << 10, 1 << 20, absl::ZeroDuration(), 12),
            "importing |+++++-----| 512.0 KiB / 1.0 MiB");
}

TEST(ProgressLineTest, EmptyAndFull) {
  EXPECT_EQ(ProgressLine("x", 0, 100, absl::ZeroDuration(), 6), "x |----| 0.0 B / 100.0 B");
  EXPECT_EQ(ProgressLine("x", 100, 100, absl::ZeroDuration(), 6), "x |++++| 100.0 B / 100.0 B");
}

TEST(ProgressLineTest, MoreThanTotalIsAFullBar) {
  EXPECT_EQ(ProgressLine("x", 150, 100, absl::ZeroDuration(), 6), "x |++++| 150.0 B / 100.0 B");
}

TEST(ProgressLineTest, UnknownTotalShowsOnlyAmount) {
  EXPECT_EQ(ProgressLine("importing", 3 << 20, 0, absl::ZeroDuration()), "importing 3.0 MiB");
}

TEST(ProgressLineTest, RateOnceTimeHasPassed) {
  EXPECT_EQ(ProgressLine("x", 4 << 20, 0, absl::Seconds(2)), "x 4.0 MiB  2.0 MiB/s");
  EXPECT_EQ(ProgressLine("x", 4 << 20, 0, absl::Milliseconds(50)), "x 4.0 MiB")
      << "no rate from a too short interval";
}

TEST(ProgressBarTest, DrawsNothingOnANonTerminal) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    ProgressBar bar(fds[1], "importing", 100);
    EXPECT_FALSE(bar.enabled());
    bar.Add(50);
    bar.Finish();
  }
  close(fds[1]);
  char buf[16];
  EXPECT_EQ(read(fds[0], buf, sizeof(buf)), 0) << "a pipe must not get control characters";
  close(fds[0]);
}

}  // namespace
}  // namespace berth::cli
