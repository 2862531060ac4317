#include "daemon/config.h"

#include <gtest/gtest.h>

namespace berth::daemon {
namespace {

TEST(ConfigTest, DefaultsRoundTrip) {
  auto parsed = ParseConfig(DefaultConfigToml(), "default");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Config want;
  EXPECT_EQ(parsed->root, want.root);
  EXPECT_EQ(parsed->state, want.state);
  EXPECT_EQ(parsed->grpc.address, want.grpc.address);
  EXPECT_EQ(parsed->debug.level, want.debug.level);
  EXPECT_TRUE(Validate(*parsed).ok());
}

TEST(ConfigTest, ReadsValues) {
  auto c = ParseConfig(R"(
version = 2
root = "/r"
state = "/s"
[grpc]
  address = "/s/sock"
  gid = 42
[debug]
  level = "debug"
[metadata]
  sync = "full"
)",
                       "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->root, "/r");
  EXPECT_EQ(c->grpc.address, "/s/sock");
  EXPECT_EQ(c->grpc.gid, 42);
  EXPECT_EQ(c->debug.level, "debug");
  EXPECT_EQ(c->metadata.sync, "full");
}

TEST(ConfigTest, UnknownKeysAreNamed) {
  auto c = ParseConfig("[grpc]\naddres = \"/x\"\n", "t.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("\"grpc.addres\""), absl::string_view::npos)
      << c.status();
  EXPECT_FALSE(ParseConfig("rooot = \"/x\"\n", "t.toml").ok());
}

TEST(ConfigTest, TypeAndSyntaxErrors) {
  EXPECT_FALSE(ParseConfig("root = 3\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("[grpc]\nuid = \"zero\"\n", "t.toml").ok());
  EXPECT_FALSE(ParseConfig("version = 1\n", "t.toml").ok());
  auto bad = ParseConfig("root = \n", "t.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("t.toml:1"), absl::string_view::npos) << bad.status();
}

TEST(ConfigTest, ValidateRejectsRelativePathsAndBadLevels) {
  Config c;
  c.root = "relative";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.debug.level = "loud";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.state = c.root;
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.metadata.sync = "sometimes";
  EXPECT_FALSE(Validate(c).ok());
  c = Config();
  c.runtime.runc_shim = "crun";
  EXPECT_FALSE(Validate(c).ok());
}

TEST(ConfigTest, RuncShimSwitch) {
  auto c = ParseConfig("[runtime]\nrunc_shim = \"containerd\"\n", "t.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->runtime.runc_shim, "containerd");
  EXPECT_TRUE(Validate(*c).ok());
  EXPECT_EQ(Config().runtime.runc_shim, "berth");
  EXPECT_FALSE(ParseConfig("[runtime]\nshim = \"x\"\n", "t.toml").ok());
}

}  // namespace
}  // namespace berth::daemon
