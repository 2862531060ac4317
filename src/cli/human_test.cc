#include "cli/human.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

// The expected strings are what ctr prints (containerd's progress.Bytes) for the same sizes.
TEST(HumanBytesTest, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(HumanBytes(0), "0.0 B");
  EXPECT_EQ(HumanBytes(512), "512.0 B");
  EXPECT_EQ(HumanBytes(1023), "1023.0 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(2202009), "2.1 MiB");
  EXPECT_EQ(HumanBytes(int64_t{5} << 30), "5.0 GiB");
  EXPECT_EQ(HumanBytes(int64_t{3} << 40), "3.0 TiB");
}

TEST(HumanBytesTest, RoundsLikePrintf) {
  // 1.96 KiB rounds up to "2.0", not "1.9".
  EXPECT_EQ(HumanBytes(2007), "2.0 KiB");
  // Just under a unit stays in the smaller unit, as Go's loop does.
  EXPECT_EQ(HumanBytes((int64_t{1} << 20) - 1), "1024.0 KiB");
}

TEST(HumanBytesTest, UnknownSizeIsADash) { EXPECT_EQ(HumanBytes(-1), "-"); }

// The expected strings are docker's units.HumanDuration (ctr content ls's AGE column).
TEST(HumanDurationTest, Ranges) {
  EXPECT_EQ(HumanDuration(absl::Milliseconds(300)), "Less than a second");
  EXPECT_EQ(HumanDuration(absl::Seconds(1)), "1 second");
  EXPECT_EQ(HumanDuration(absl::Seconds(42)), "42 seconds");
  EXPECT_EQ(HumanDuration(absl::Seconds(90)), "About a minute");
  EXPECT_EQ(HumanDuration(absl::Minutes(59)), "59 minutes");
  EXPECT_EQ(HumanDuration(absl::Minutes(60)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Minutes(89)), "About an hour");
  EXPECT_EQ(HumanDuration(absl::Minutes(90)), "2 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(47)), "47 hours");
  EXPECT_EQ(HumanDuration(absl::Hours(48)), "2 days");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 15)), "2 weeks");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 61)), "2 months");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 365 * 3)), "3 years");
}

TEST(HumanDurationTest, NegativeIsNow) {
  EXPECT_EQ(HumanDuration(-absl::Seconds(5)), "Less than a second");
}

}  // namespace
}  // namespace berth::cli
