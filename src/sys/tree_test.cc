#include "sys/tree.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sys/file.h"

namespace berth::sys {
namespace {

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-tree-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    src_ = dir_ + "/src";
    dst_ = dir_ + "/dst";
    ASSERT_EQ(mkdir(src_.c_str(), 0755), 0);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  struct stat Lstat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
    return st;
  }

  std::string dir_, src_, dst_;
};

TEST_F(TreeTest, CopyKeepsEverythingALayerNeeds) {
  ASSERT_EQ(mkdir((src_ + "/d").c_str(), 0750), 0);
  ASSERT_TRUE(WriteFile(src_ + "/d/file", "content", 0644).ok());
  ASSERT_EQ(lchown((src_ + "/d/file").c_str(), 1000, 1001), 0);
  ASSERT_EQ(chmod((src_ + "/d/file").c_str(), 04755), 0);  // after chown, which clears setuid
  ASSERT_EQ(lchown((src_ + "/d").c_str(), 7, 8), 0);
  ASSERT_EQ(link((src_ + "/d/file").c_str(), (src_ + "/hardlink").c_str()), 0);
  ASSERT_EQ(symlink("d/file", (src_ + "/symlink").c_str()), 0);
  ASSERT_EQ(lchown((src_ + "/symlink").c_str(), 5, 6), 0);
  ASSERT_EQ(mkfifo((src_ + "/fifo").c_str(), 0600), 0);
  ASSERT_EQ(mknod((src_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(lsetxattr((src_ + "/d/file").c_str(), "user.test", "v", 1, 0), 0);
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(WriteFile(src_ + "/big", big, 0600).ok());
  const struct timespec times[2] = {{1000, 1}, {2000, 2}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/d").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/symlink").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);

  absl::Status st = CopyTree(src_, dst_);
  ASSERT_TRUE(st.ok()) << st;

  EXPECT_EQ(*ReadFile(dst_ + "/d/file"), "content");
  EXPECT_EQ(*ReadFile(dst_ + "/big"), big);
  struct stat f = Lstat(dst_ + "/d/file");
  EXPECT_EQ(f.st_mode & 07777, 04755u) << "setuid survives the chown";
  EXPECT_EQ(f.st_uid, 1000u);
  EXPECT_EQ(f.st_gid, 1001u);
  EXPECT_EQ(f.st_nlink, 2u);
  EXPECT_EQ(Lstat(dst_ + "/hardlink").st_ino, f.st_ino) << "hard links stay linked";
  struct stat d = Lstat(dst_ + "/d");
  EXPECT_EQ(d.st_mode & 07777, 0750u);
  EXPECT_EQ(d.st_uid, 7u);
  EXPECT_EQ(d.st_mtim.tv_sec, 2000) << "directory mtime set after its children were created";
  EXPECT_EQ(d.st_mtim.tv_nsec, 2);
  struct stat l = Lstat(dst_ + "/symlink");
  ASSERT_TRUE(S_ISLNK(l.st_mode));
  EXPECT_EQ(l.st_uid, 5u);
  EXPECT_EQ(l.st_mtim.tv_sec, 2000);
  EXPECT_EQ(std::filesystem::read_symlink(dst_ + "/symlink"), "d/file");
  EXPECT_TRUE(S_ISFIFO(Lstat(dst_ + "/fifo").st_mode));
  struct stat n = Lstat(dst_ + "/null");
  EXPECT_TRUE(S_ISCHR(n.st_mode));
  EXPECT_EQ(n.st_rdev, makedev(1, 3));
  char value[8] = {};
  EXPECT_EQ(lgetxattr((dst_ + "/d/file").c_str(), "user.test", value, sizeof(value)), 1);
  EXPECT_STREQ(value, "v");
  EXPECT_EQ(Lstat(dst_).st_mode & 07777, 0755u);
}

TEST_F(TreeTest, CopyIntoExistingDirectoryAndErrors) {
  ASSERT_TRUE(WriteFile(src_ + "/a", "a", 0644).ok());
  ASSERT_EQ(mkdir(dst_.c_str(), 0700), 0);
  ASSERT_TRUE(CopyTree(src_, dst_).ok());
  EXPECT_EQ(Lstat(dst_).st_mode & 07777, 0755u);
  EXPECT_EQ(*ReadFile(dst_ + "/a"), "a");
  EXPECT_EQ(CopyTree(dir_ + "/missing", dir_ + "/x").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(CopyTree(src_ + "/a", dir_ + "/y").code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TreeTest, DiskUsageCountsInodesOnce) {
  auto empty = DiskUsage(src_);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->inodes, 1);
  ASSERT_TRUE(WriteFile(src_ + "/f", std::string(64 * 1024, 'x'), 0644).ok());
  ASSERT_EQ(link((src_ + "/f").c_str(), (src_ + "/g").c_str()), 0);
  ASSERT_EQ(mkdir((src_ + "/d").c_str(), 0755), 0);
  auto usage = DiskUsage(src_);
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->inodes, 3);  // root, f (= g), d
  EXPECT_GE(usage->size, 64 * 1024 + empty->size);
  EXPECT_EQ(DiskUsage(dir_ + "/missing").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(TreeTest, FileSystemProbes) {
  auto dtype = SupportsDType(src_);
  ASSERT_TRUE(dtype.ok()) << dtype.status();
  EXPECT_TRUE(*dtype);
  EXPECT_TRUE(std::filesystem::is_empty(src_)) << "the probe file is removed";
  auto tmpfs = IsTmpfs(src_);
  ASSERT_TRUE(tmpfs.ok());
  if (std::filesystem::exists("/dev/shm")) {
    EXPECT_TRUE(*IsTmpfs("/dev/shm"));
  }
}

}  // namespace
}  // namespace berth::sys
