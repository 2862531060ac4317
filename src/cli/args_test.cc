#include "cli/args.h"

#include <gtest/gtest.h>

namespace berth::cli {
namespace {

TEST(ParseLabelArgsTest, LikeCtr) {
  absl::StatusOr<client::Labels> labels =
      ParseLabelArgs({"a=1", "b=", "c", "d=x=y", "a=2", "containerd.io/gc.ref.content=sha"});
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_EQ(*labels, (client::Labels{{"a", "2"},
                                     {"b", ""},
                                     {"c", "true"},
                                     {"d", "x=y"},
                                     {"containerd.io/gc.ref.content", "sha"}}));
}

TEST(ParseLabelArgsTest, EmptyKeyIsInvalid) {
  absl::StatusOr<client::Labels> labels = ParseLabelArgs({"=v"});
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(labels.status().message().find("\"=v\""), std::string_view::npos);
  EXPECT_TRUE(ParseLabelArgs({}).ok());
}

TEST(ParseDurationTest, GoSyntax) {
  EXPECT_EQ(*ParseDuration("10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseDuration("24h"), absl::Hours(24));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
}

TEST(ParseDurationTest, RejectsNonsense) {
  for (const char* bad : {"", "10", "ten seconds", "-5s", "inf", "5d", "s"}) {
    absl::StatusOr<absl::Duration> d = ParseDuration(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(FormatLabelsTest, SortedPairs) {
  EXPECT_EQ(FormatLabels({{"b", "2"}, {"a", "1"}}), "a=1,b=2");
  EXPECT_EQ(FormatLabels({}), "");
  EXPECT_EQ(FormatLabels({}, "-"), "-");
}

}  // namespace
}  // namespace berth::cli
