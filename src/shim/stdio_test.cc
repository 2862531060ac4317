#include "shim/stdio.h"

#include "gtest/gtest.h"

namespace berth::shim {
namespace {

TEST(StdioUriTest, PlainPathsAreFifos) {
  auto u = ParseStdioUri("/run/containerd/fifo/123/c1-stdout");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, StdioUri::Scheme::kFifo);
  EXPECT_EQ(u->path, "/run/containerd/fifo/123/c1-stdout");
  u = ParseStdioUri("");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, StdioUri::Scheme::kFifo);
}

TEST(StdioUriTest, FileUri) {
  auto u = ParseStdioUri("file:///var/log/c%201.log");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, StdioUri::Scheme::kFile);
  EXPECT_EQ(u->path, "/var/log/c 1.log");
}

TEST(StdioUriTest, BinaryUriKeepsArgumentsInOrder) {
  auto u = ParseStdioUri("binary:///usr/bin/logger?id=abc&flag&name=a+b%2Fc");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->scheme, StdioUri::Scheme::kBinary);
  EXPECT_EQ(u->path, "/usr/bin/logger");
  EXPECT_EQ(BinaryArgs(*u), (std::vector<std::string>{"id", "abc", "flag", "", "name", "a b/c"}));
}

TEST(StdioUriTest, UnknownSchemeAndBadEscapes) {
  auto u = ParseStdioUri("tcp://host:1/x");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "unknown STDIO scheme tcp");
  EXPECT_FALSE(ParseStdioUri("file:///bad%zz").ok());
  EXPECT_FALSE(ParseStdioUri("file:///bad%2").ok());
}

TEST(StdioTest, IsNull) {
  EXPECT_TRUE(Stdio{}.IsNull());
  EXPECT_TRUE((Stdio{"", "", "", true}).IsNull());
  EXPECT_FALSE((Stdio{"", "/out", "", false}).IsNull());
}

}  // namespace
}  // namespace berth::shim
