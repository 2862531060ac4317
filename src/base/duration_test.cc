#include "base/duration.h"

#include <gtest/gtest.h>

namespace berth {
namespace {

TEST(ParseGoDurationTest, GoSyntax) {
  EXPECT_EQ(ParseGoDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(ParseGoDuration("100ms"), absl::Milliseconds(100));
  EXPECT_EQ(ParseGoDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(ParseGoDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(ParseGoDuration("-2s"), absl::Seconds(-2));
  EXPECT_EQ(ParseGoDuration("5\xC2\xB5s"), absl::Microseconds(5));
  EXPECT_EQ(ParseGoDuration("5\xCE\xBCs"), absl::Microseconds(5));
}

TEST(ParseGoDurationTest, RejectsWhatGoRejects) {
  for (const char* bad : {"", "inf", "-inf", "10", "soon", "1x", "s"}) {
    EXPECT_FALSE(ParseGoDuration(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace berth
