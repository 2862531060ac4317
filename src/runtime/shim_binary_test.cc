#include "runtime/shim_binary.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "sys/file.h"

namespace berth::runtime {
namespace {

TEST(ShimBinaryTest, NamesFollowContainerd) {
  EXPECT_EQ(ShimBinaryName("io.containerd.runc.v2"), "containerd-shim-runc-v2");
  EXPECT_EQ(ShimBinaryName("io.containerd.berth.v2"), "containerd-shim-berth-v2");
  EXPECT_EQ(ShimBinaryName("runc"), "");
}

class ShimBinaryDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-shimbin-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)sys::RemoveAll(dir_); }
  // A fake shim: a shell script (this test is about how berthd calls it, not about a shim).
  void WriteShim(const std::string& name, const std::string& body) {
    ASSERT_TRUE(sys::WriteFile(dir_ + "/" + name, "#!/bin/sh\n" + body, 0755).ok());
  }
  std::string dir_;
};

TEST_F(ShimBinaryDirTest, ResolvesNextToTheDaemonThenPath) {
  WriteShim("containerd-shim-test-v9", "exit 0\n");
  auto found = ResolveShimBinary("io.containerd.test.v9", dir_);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(*found, dir_ + "/containerd-shim-test-v9");
  // sh is found in PATH, as a runtime "x.sh" would be "containerd-shim-x-sh": not there.
  auto missing = ResolveShimBinary("io.containerd.nosuch.v1", dir_);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_NE(missing.status().message().find("containerd-shim-nosuch-v1"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveShimBinary("runc", dir_).status()));
  EXPECT_TRUE(ResolveShimBinary(dir_ + "/containerd-shim-test-v9", "").ok());
  EXPECT_TRUE(absl::IsNotFound(ResolveShimBinary(dir_ + "/nope", "").status()));
}

TEST_F(ShimBinaryDirTest, StartPassesContainerdsArgumentsAndReadsTheAddress) {
  // Records its argv, cwd, TTRPC_ADDRESS and stdin, then prints an address.
  WriteShim("shim", "echo \"$@\" > args; pwd > cwd; echo \"$TTRPC_ADDRESS\" > ttrpc; cat > opts\n"
                    "echo unix:///run/x.sock\n");
  Bundle bundle{.ns = "ns", .id = "id1", .path = dir_, .work = dir_};
  ShimCommand cmd{.binary = dir_ + "/shim", .ns = "ns", .id = "id1", .address = "/a.sock",
                  .ttrpc_address = "/a.sock.ttrpc", .publish_binary = "/bin/berthd"};
  google::protobuf::Any options;
  options.set_type_url("containerd.runc.v1.Options");
  options.set_value("xyz");
  auto address = StartShim(cmd, bundle, &options);
  ASSERT_TRUE(address.ok()) << address.status();
  EXPECT_EQ(*address, "unix:///run/x.sock");
  EXPECT_EQ(*sys::ReadFile(dir_ + "/args"),
            "-namespace ns -address /a.sock -publish-binary /bin/berthd -id id1 start\n");
  EXPECT_EQ(*sys::ReadFile(dir_ + "/ttrpc"), "/a.sock.ttrpc\n");
  EXPECT_EQ(*sys::ReadFile(dir_ + "/opts"), options.SerializeAsString());
}

TEST_F(ShimBinaryDirTest, FailuresCarryTheShimsWords) {
  WriteShim("shim", "echo 'cannot start: no runc' >&2; exit 1\n");
  Bundle bundle{.ns = "ns", .id = "id1", .path = dir_, .work = dir_};
  ShimCommand cmd{.binary = dir_ + "/shim", .ns = "ns", .id = "id1"};
  auto address = StartShim(cmd, bundle, nullptr);
  ASSERT_FALSE(address.ok());
  EXPECT_NE(address.status().message().find("cannot start: no runc"), std::string::npos)
      << address.status();
}

TEST_F(ShimBinaryDirTest, DeleteParsesTheResponse) {
  containerd::task::v2::DeleteResponse want;
  want.set_pid(42);
  want.set_exit_status(137);
  want.mutable_exited_at()->set_seconds(1700000000);
  ASSERT_TRUE(sys::WriteFile(dir_ + "/resp", want.SerializeAsString(), 0644).ok());
  WriteShim("shim", "case \"$*\" in *'-bundle '*' delete') cat resp;; *) exit 2;; esac\n");
  Bundle bundle{.ns = "ns", .id = "id1", .path = dir_, .work = dir_};
  ShimCommand cmd{.binary = dir_ + "/shim", .ns = "ns", .id = "id1"};
  auto got = DeleteShim(cmd, bundle);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->pid(), 42u);
  EXPECT_EQ(got->exit_status(), 137u);
  EXPECT_EQ(got->exited_at().seconds(), 1700000000);
}

}  // namespace
}  // namespace berth::runtime
