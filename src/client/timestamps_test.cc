#include "client/timestamps.h"

#include <gtest/gtest.h>

namespace berth::client {
namespace {

TEST(TimestampsTest, Rfc3339LikeGo) {
  absl::Time t = absl::FromUnixSeconds(1700000000) + absl::Milliseconds(250);
  EXPECT_EQ(FormatRfc3339(t, absl::UTCTimeZone()), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatRfc3339(t, absl::UTCTimeZone(), /*nanos=*/true), "2023-11-14T22:13:20.25Z");
  EXPECT_EQ(FormatRfc3339(t, absl::FixedTimeZone(2 * 3600)), "2023-11-15T00:13:20+02:00");
  EXPECT_EQ(FormatRfc3339(t, absl::FixedTimeZone(-5 * 3600 - 1800)), "2023-11-14T16:43:20-05:30");
}

}  // namespace
}  // namespace berth::client
