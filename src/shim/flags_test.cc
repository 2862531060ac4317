#include "shim/flags.h"

#include "gtest/gtest.h"

namespace berth::shim {
namespace {

TEST(FlagsTest, ContainerdStartCommandLine) {
  auto f = ParseFlags({"-namespace", "default", "-address", "/run/containerd/containerd.sock",
                       "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->namespace_, "default");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "c1");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(FlagsTest, EqualsFormsDoubleDashAndBooleans) {
  auto f =
      ParseFlags({"--namespace=ns", "-id=x", "--bundle", "/b", "-debug=false", "-v", "delete"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->namespace_, "ns");
  EXPECT_EQ(f->id, "x");
  EXPECT_EQ(f->bundle, "/b");
  EXPECT_FALSE(f->debug);
  EXPECT_TRUE(f->version);
  EXPECT_EQ(f->action, "delete");
}

TEST(FlagsTest, NoActionMeansServe) {
  auto f = ParseFlags({"-namespace", "ns", "-id", "x", "-socket", "/s.sock"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->action, "");
  EXPECT_EQ(f->socket, "/s.sock");
}

TEST(FlagsTest, ParsingStopsAtFirstArgumentOrDoubleDash) {
  auto f = ParseFlags({"-id", "x", "start", "-debug"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->action, "start");
  EXPECT_FALSE(f->debug);
  f = ParseFlags({"-id", "x", "--", "-weird"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->action, "-weird");
}

TEST(FlagsTest, ErrorsUseGoWording) {
  auto f = ParseFlags({"-bogus", "1"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "flag provided but not defined: -bogus");
  f = ParseFlags({"-id"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().message(), "flag needs an argument: -id");
  f = ParseFlags({"-debug=maybe"});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FlagsTest, ServeArgsRoundTrip) {
  Flags in;
  in.namespace_ = "ns";
  in.id = "id";
  in.address = "/a.sock";
  in.publish_binary = "/bin/berthd";
  in.bundle = "/b";
  in.debug = true;
  in.action = "start";
  auto out = ParseFlags(ServeArgs(in));
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->namespace_, "ns");
  EXPECT_EQ(out->id, "id");
  EXPECT_EQ(out->address, "/a.sock");
  EXPECT_EQ(out->publish_binary, "/bin/berthd");
  EXPECT_EQ(out->bundle, "/b");
  EXPECT_TRUE(out->debug);
  EXPECT_EQ(out->action, "");  // the child serves
}

}  // namespace
}  // namespace berth::shim
