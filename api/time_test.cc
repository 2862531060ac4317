#include "time.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

TEST(TimeTest, ZeroAndGoZeroAreUnset) {
  google::protobuf::Timestamp ts;
  EXPECT_TRUE(IsZeroTimestamp(ts));
  EXPECT_EQ(FromTimestamp(ts), absl::InfinitePast());
  ts.set_seconds(kGoZeroTimeSeconds);
  EXPECT_TRUE(IsZeroTimestamp(ts));
  ts.set_seconds(1);
  EXPECT_FALSE(IsZeroTimestamp(ts));
}

TEST(TimeTest, RoundTripKeepsNanoseconds) {
  absl::Time t = absl::FromUnixSeconds(1700000000) + absl::Nanoseconds(123456789);
  google::protobuf::Timestamp ts = ToTimestamp(t);
  EXPECT_EQ(ts.seconds(), 1700000000);
  EXPECT_EQ(ts.nanos(), 123456789);
  EXPECT_EQ(FromTimestamp(ts), t);
}

TEST(TimeTest, BeforeTheEpochNanosStayPositive) {
  absl::Time t = absl::FromUnixSeconds(-10) + absl::Milliseconds(250);
  google::protobuf::Timestamp ts = ToTimestamp(t);
  EXPECT_EQ(ts.seconds(), -10);
  EXPECT_EQ(ts.nanos(), 250000000);
  EXPECT_EQ(FromTimestamp(ts), t);
}

}  // namespace
}  // namespace berth::api
