#include "shim/bundle.h"

#include <stdlib.h>

#include <string>

#include "gtest/gtest.h"
#include "sys/file.h"

namespace berth::shim {
namespace {

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/shim-bundle-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
  }
  void TearDown() override { (void)sys::RemoveAll(dir_); }
  void WriteSpec(const std::string& json) {
    ASSERT_TRUE(sys::WriteFile(dir_ + "/config.json", json, 0600).ok());
  }
  std::string dir_;
};

TEST(SocketPathTest, MatchesContainerdsNaming) {
  // containerd: unix:///run/containerd/s/<sha256("/run/containerd/containerd.sock/default/c1")>
  auto path = SocketPath("/run/containerd/containerd.sock", "default", "c1");
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path,
            "/run/containerd/s/d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
  auto with_scheme = SocketPath("unix:///run/containerd/containerd.sock", "default", "c1");
  ASSERT_TRUE(with_scheme.ok());
  EXPECT_EQ(*with_scheme, *path);
}

TEST(SocketPathTest, TooLongForAUnixSocketIsAClearError) {
  std::string deep = "/" + std::string(60, 'd') + "/berthd.sock";
  auto path = SocketPath(deep, "default", "c1");
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(path.status().message().find("longer than a unix socket address allows"),
            std::string::npos);
  EXPECT_FALSE(SocketPath("", "ns", "id").ok());
}

TEST(DefaultRuntimeRootTest, BesideTheDaemonSocket) {
  EXPECT_EQ(DefaultRuntimeRoot("/run/containerd/containerd.sock"), "/run/containerd/runc");
  EXPECT_EQ(DefaultRuntimeRoot("unix:///run/berth/berthd.sock"), "/run/berth/runc");
}

TEST_F(BundleTest, GroupIdFromAnnotations) {
  WriteSpec(R"({"annotations":{"io.kubernetes.cri.sandbox-id":"sb"}})");
  EXPECT_EQ(*GroupId(dir_, "c1"), "sb");
  WriteSpec(
      R"({"annotations":{"io.containerd.runc.v2.group":"g","io.kubernetes.cri.sandbox-id":"sb"}})");
  EXPECT_EQ(*GroupId(dir_, "c1"), "g");
  WriteSpec(R"({"ociVersion":"1.0.2"})");
  EXPECT_EQ(*GroupId(dir_, "c1"), "c1");
  EXPECT_FALSE(GroupId(dir_ + "/missing", "c1").ok());
}

TEST_F(BundleTest, KillAllUnlessOwnPidNamespace) {
  WriteSpec(R"({"linux":{"namespaces":[{"type":"mount"},{"type":"pid"}]}})");
  EXPECT_FALSE(ShouldKillAllOnExit(dir_));
  WriteSpec(R"({"linux":{"namespaces":[{"type":"pid","path":"/proc/1/ns/pid"}]}})");
  EXPECT_TRUE(ShouldKillAllOnExit(dir_));
  WriteSpec(R"({"linux":{"namespaces":[{"type":"mount"}]}})");
  EXPECT_TRUE(ShouldKillAllOnExit(dir_));
  WriteSpec("not json");
  EXPECT_TRUE(ShouldKillAllOnExit(dir_));
}

TEST_F(BundleTest, OptionsRoundTripInContainerdsJson) {
  containerd::runc::v1::Options opts;
  opts.set_binary_name("crun");
  opts.set_root("/run/x");
  opts.set_systemd_cgroup(true);
  opts.set_io_uid(1000);
  ASSERT_TRUE(WriteOptions(dir_, opts).ok());
  auto text = sys::ReadFile(dir_ + "/options.json");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"binary_name":"crun","io_uid":1000,"root":"/run/x","systemd_cgroup":true})");
  EXPECT_EQ(*sys::ReadFile(dir_ + "/runtime"), "crun");
  auto back = ReadOptions(dir_);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->binary_name(), "crun");
  EXPECT_EQ(back->root(), "/run/x");
  EXPECT_TRUE(back->systemd_cgroup());
  EXPECT_EQ(back->io_uid(), 1000u);
  EXPECT_EQ(ReadOptions(dir_ + "/none").status().code(), absl::StatusCode::kNotFound);
}

TEST(ParseOptionsTest, AcceptsRuncOptionsOnly) {
  google::protobuf::Any any;
  EXPECT_TRUE(ParseOptions(any).ok());  // no options: defaults
  containerd::runc::v1::Options opts;
  opts.set_binary_name("runc");
  any.set_type_url("containerd.runc.v1.Options");
  any.set_value(opts.SerializeAsString());
  auto parsed = ParseOptions(any);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->binary_name(), "runc");
  any.set_type_url("types.containerd.io/containerd.runc.v1.Options");
  EXPECT_TRUE(ParseOptions(any).ok());
  any.set_type_url("containerd.linux.runc.RuncOptions");
  EXPECT_EQ(ParseOptions(any).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(BundleTest, PidFiles) {
  ASSERT_TRUE(sys::WriteFile(dir_ + "/init.pid", "1234", 0600).ok());
  EXPECT_EQ(*ReadPidFile(dir_ + "/init.pid"), 1234);
  ASSERT_TRUE(sys::WriteFile(dir_ + "/bad.pid", "", 0600).ok());
  EXPECT_FALSE(ReadPidFile(dir_ + "/bad.pid").ok());
}

}  // namespace
}  // namespace berth::shim
