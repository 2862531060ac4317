#include "snapshots/native/native.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "snapshots/testsuite/testsuite.h"
#include "sys/file.h"

namespace berth::snapshots {
namespace {

using testsuite::SnapshotterFactory;
using testsuite::SnapshotterSuite;

absl::StatusOr<std::unique_ptr<Snapshotter>> OpenNative(const std::string& root) {
  auto s = NativeSnapshotter::Open(root);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Snapshotter>(*std::move(s));
}

INSTANTIATE_TEST_SUITE_P(Native, SnapshotterSuite,
                         ::testing::Values(SnapshotterFactory{"Native", OpenNative}),
                         testsuite::FactoryName);

class NativeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = testsuite::MakeTempDir("berth-native-");
    ASSERT_FALSE(tmp_.empty());
    root_ = tmp_ + "/root";
    Open();
  }
  void TearDown() override {
    EXPECT_TRUE(testsuite::UnmountUnder(tmp_));
    sn_.reset();
    EXPECT_TRUE(testsuite::RemoveTempDir(tmp_));
  }
  void Open() {
    sn_.reset();
    auto s = NativeSnapshotter::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = *std::move(s);
  }
  std::string Dir(const std::string& id) const { return root_ + "/snapshots/" + id; }
  std::vector<std::string> Entries() const {
    auto names = sys::ListDir(root_ + "/snapshots");
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>{};
  }

  std::string tmp_, root_;
  std::unique_ptr<NativeSnapshotter> sn_;
};

// One bind mount each, as containerd 1.6's native snapshotter returns.
TEST_F(NativeTest, MountOptionsShape) {
  auto a = sn_->Prepare("a", "", {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<sys::Mount>{{"bind", Dir("1"), {"rbind", "rw"}}}));
  auto v0 = sn_->View("v0", "", {});
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(*v0, (std::vector<sys::Mount>{{"bind", Dir("2"), {"rbind", "ro"}}}));
  ASSERT_TRUE(sn_->Commit("c", "a", {}).ok());
  auto b = sn_->Prepare("b", "c", {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, (std::vector<sys::Mount>{{"bind", Dir("3"), {"rbind", "rw"}}}));
  auto v1 = sn_->View("v1", "c", {});
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, (std::vector<sys::Mount>{{"bind", Dir("1"), {"rbind", "ro"}}}))
      << "a view of a parent binds the parent itself";
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1", "2", "3"})) << "no directory for v1";
  EXPECT_TRUE(sn_->Remove("v1").ok());
  EXPECT_TRUE(std::filesystem::exists(Dir("1"))) << "removing the view keeps the parent";
}

// Prepare copies the parent: a faithful, independent tree.
TEST_F(NativeTest, PrepareCopiesTheParent) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  const std::string a = Dir("1");
  ASSERT_TRUE(sys::WriteFile(a + "/file", "parent", 0640).ok());
  ASSERT_EQ(::chown((a + "/file").c_str(), 1000, 1000), 0);
  ASSERT_EQ(::link((a + "/file").c_str(), (a + "/hardlink").c_str()), 0);
  ASSERT_EQ(::symlink("file", (a + "/symlink").c_str()), 0);
  ASSERT_EQ(::mkfifo((a + "/fifo").c_str(), 0600), 0);
  ASSERT_TRUE(sn_->Commit("c", "a", {}).ok());
  ASSERT_TRUE(sn_->Prepare("b", "c", {}).ok());
  const std::string b = Dir("2");
  ASSERT_TRUE(testsuite::CheckDirectoryEqual(a, b).ok());
  struct stat file, link;
  ASSERT_EQ(::lstat((b + "/file").c_str(), &file), 0);
  ASSERT_EQ(::lstat((b + "/hardlink").c_str(), &link), 0);
  EXPECT_EQ(file.st_ino, link.st_ino);
  EXPECT_EQ(file.st_uid, 1000u);
  ASSERT_TRUE(sys::WriteFile(b + "/file", "child", 0640).ok());
  EXPECT_EQ(testsuite::Value(sys::ReadFile(a + "/file")), "parent") << "the child is a copy";
}

// What a crash leaves in snapshots/ is removed by Cleanup; live snapshots stay.
TEST_F(NativeTest, CleanupRemovesOrphansAfterCrash) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  ASSERT_TRUE(sn_->Commit("c", "a", {}).ok());
  ASSERT_TRUE(sn_->Prepare("b", "c", {}).ok());
  for (const char* dir : {"new-abc123/usr", "rm-9/etc", "3/bin"}) {
    ASSERT_TRUE(std::filesystem::create_directories(root_ + "/snapshots/" + dir));
  }
  sn_.reset();
  Open();
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1", "2"}));
  ASSERT_TRUE(sn_->Remove("b").ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1"})) << "removed inline";
}

}  // namespace
}  // namespace berth::snapshots
