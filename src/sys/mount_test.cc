#include "sys/mount.h"

#include <errno.h>
#include <limits.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "sys/file.h"

namespace berth::sys {
namespace {

using Options = std::vector<std::string>;

// Mount points listed in /proc/self/mountinfo (field 5), octal escapes left as they are.
bool IsMountPoint(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && fields[4] == path) return true;
  }
  return false;
}

std::string Slurp(const std::string& path) {
  auto data = ReadFile(path);
  return data.ok() ? *data : absl::StrCat("<", data.status().ToString(), ">");
}

TEST(ParseMountOptions, FlagsAndData) {
  Options opts = {"ro", "rbind", "nosuid", "nodev", "noexec", "lowerdir=/a:/b", "index=off"};
  MountOptions p = ParseMountOptions(opts);
  EXPECT_EQ(p.flags, MS_RDONLY | MS_BIND | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  EXPECT_EQ(p.data, "lowerdir=/a:/b,index=off");
  EXPECT_EQ(p.propagation, 0u);
  EXPECT_FALSE(p.loop);
}

TEST(ParseMountOptions, LaterOptionsClearEarlierFlags) {
  Options opts = {"ro", "nosuid", "rw", "suid", "noexec", "exec", "sync", "async", "remount"};
  MountOptions p = ParseMountOptions(opts);
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_REMOUNT));
  EXPECT_EQ(p.data, "");
}

TEST(ParseMountOptions, PropagationIsSeparate) {
  Options opts = {"rbind", "rprivate", "defaults", "mode=755"};
  MountOptions p = ParseMountOptions(opts);
  EXPECT_EQ(p.flags, MS_BIND | MS_REC);
  EXPECT_EQ(p.propagation, MS_PRIVATE | MS_REC);
  EXPECT_EQ(p.data, "mode=755");
  Options loop = {"loop", "ro"};
  EXPECT_TRUE(ParseMountOptions(loop).loop);
}

TEST(CompactLowerdirOption, RelativeToCommonParent) {
  Options opts = {"index=off", "lowerdir=/r/snapshots/12/fs:/r/snapshots/13/fs:/r/snapshots/1/fs",
                  "workdir=/r/snapshots/14/work"};
  CompactedOptions c = CompactLowerdirOption(opts);
  EXPECT_EQ(c.dir, "/r/snapshots/");
  EXPECT_EQ(c.options,
            (Options{"index=off", "workdir=/r/snapshots/14/work", "lowerdir=12/fs:13/fs:1/fs"}));
}

TEST(CompactLowerdirOption, LeavesWhatCannotBeCompacted) {
  Options single = {"lowerdir=/r/snapshots/1/fs"};
  EXPECT_EQ(CompactLowerdirOption(single).dir, "");
  EXPECT_EQ(CompactLowerdirOption(single).options, single);
  Options root = {"lowerdir=/a/fs:/b/fs"};
  EXPECT_EQ(CompactLowerdirOption(root).dir, "");
  EXPECT_EQ(CompactLowerdirOption(root).options, root);
  Options none = {"ro"};
  EXPECT_EQ(CompactLowerdirOption(none).options, none);
}

class MountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-mount-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const std::string& t : targets_) EXPECT_TRUE(UnmountAll(t, MNT_DETACH).ok());
    std::filesystem::remove_all(dir_);
  }
  std::string MakeDir(const std::string& name) {
    std::string path = absl::StrCat(dir_, "/", name);
    std::filesystem::create_directories(path);
    return path;
  }
  std::string Target(const std::string& name) {
    targets_.push_back(MakeDir(name));
    return targets_.back();
  }

  std::string dir_;
  std::vector<std::string> targets_;
};

TEST_F(MountTest, BindMountShowsSourceAndUnmounts) {
  std::string src = MakeDir("src");
  ASSERT_TRUE(WriteFile(src + "/hello", "world", 0644).ok());
  std::string target = Target("target");
  Mount m{.type = "bind", .source = src, .options = {"rbind", "rw"}};
  ASSERT_TRUE(MountAt(m, target).ok());
  EXPECT_TRUE(IsMountPoint(target));
  EXPECT_EQ(Slurp(target + "/hello"), "world");
  ASSERT_TRUE(WriteFile(target + "/written", "x", 0644).ok()) << "rw bind";
  EXPECT_EQ(Slurp(src + "/written"), "x");
  ASSERT_TRUE(Unmount(target).ok());
  EXPECT_FALSE(IsMountPoint(target));
  EXPECT_FALSE(std::filesystem::exists(target + "/hello"));
  EXPECT_TRUE(Unmount(target).ok()) << "not a mount point any more: not an error";
}

TEST_F(MountTest, ReadOnlyBindRefusesWrites) {
  std::string src = MakeDir("src");
  std::string target = Target("target");
  Mount m{.type = "bind", .source = src, .options = {"ro", "rbind"}};
  ASSERT_TRUE(MountAt(m, target).ok());
  absl::Status st = WriteFile(target + "/nope", "x", 0644);
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(std::filesystem::exists(src + "/nope"));
}

TEST_F(MountTest, MissingSourceIsNotFound) {
  std::string target = Target("target");
  Mount m{.type = "bind", .source = dir_ + "/missing", .options = {"rbind"}};
  absl::Status st = MountAt(m, target);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound) << st;
  EXPECT_NE(st.message().find(dir_ + "/missing"), absl::string_view::npos) << st;
}

TEST_F(MountTest, OverlayMergesLayers) {
  std::string l1 = MakeDir("l1"), l2 = MakeDir("l2"), upper = MakeDir("upper");
  std::string work = MakeDir("work");
  ASSERT_TRUE(WriteFile(l1 + "/a", "from l1", 0644).ok());
  ASSERT_TRUE(WriteFile(l1 + "/b", "from l1", 0644).ok());
  ASSERT_TRUE(WriteFile(l2 + "/b", "from l2", 0644).ok());
  std::string target = Target("merged");
  Mount m{.type = "overlay",
          .source = "overlay",
          .options = {absl::StrCat("workdir=", work), absl::StrCat("upperdir=", upper),
                      absl::StrCat("lowerdir=", l2, ":", l1)}};
  ASSERT_TRUE(MountAt(m, target).ok());
  EXPECT_EQ(Slurp(target + "/a"), "from l1");
  EXPECT_EQ(Slurp(target + "/b"), "from l2") << "the first lowerdir is the top one";
  ASSERT_TRUE(WriteFile(target + "/c", "new", 0644).ok());
  EXPECT_EQ(Slurp(upper + "/c"), "new");
  ASSERT_TRUE(UnmountAll(target).ok());
  EXPECT_FALSE(IsMountPoint(target));
}

TEST_F(MountTest, OverlayLongerThanAPageIsCompacted) {
  // 150 lowerdirs of ~90 bytes each: ~13.5 KiB of lowerdir, far beyond the one page the kernel
  // copies, but short once relative to their common parent.
  std::string base = MakeDir(std::string(40, 'p') + "/snapshots");
  std::vector<std::string> lowers;
  for (int i = 149; i >= 0; --i) {  // newest first, like a snapshotter's chain
    std::string d = absl::StrCat(base, "/", i, "/fs");
    std::filesystem::create_directories(d);
    ASSERT_TRUE(WriteFile(absl::StrCat(d, "/layer-", i), "", 0644).ok());
    ASSERT_TRUE(WriteFile(d + "/top", absl::StrCat(i), 0644).ok());
    lowers.push_back(d);
  }
  std::string target = Target("merged");
  Mount m{.type = "overlay",
          .source = "overlay",
          .options = {"index=off", absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"))}};
  ASSERT_GT(m.options[1].size(), 4096u);
  char before[PATH_MAX];
  ASSERT_NE(getcwd(before, sizeof(before)), nullptr);
  absl::Status st = MountAt(m, target);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(std::filesystem::exists(target + "/layer-0"));
  EXPECT_TRUE(std::filesystem::exists(target + "/layer-149"));
  EXPECT_EQ(Slurp(target + "/top"), "149");
  char after[PATH_MAX];
  ASSERT_NE(getcwd(after, sizeof(after)), nullptr);
  EXPECT_STREQ(before, after) << "the mount thread's chdir must not leak to the process";
}

TEST_F(MountTest, OverlayTooLongEvenCompactedIsInvalidArgument) {
  std::vector<std::string> lowers;
  for (int i = 0; i < 2; ++i) lowers.push_back(absl::StrCat("/x/", std::string(3000, 'a'), i));
  Mount m{.type = "overlay",
          .source = "overlay",
          .options = {absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"))}};
  absl::Status st = MountAt(m, Target("merged"));
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("mount options is too long"), absl::string_view::npos) << st;
}

TEST_F(MountTest, UnmountAllUndoesAStack) {
  std::string a = MakeDir("a"), b = MakeDir("b");
  ASSERT_TRUE(WriteFile(a + "/which", "a", 0644).ok());
  ASSERT_TRUE(WriteFile(b + "/which", "b", 0644).ok());
  std::string target = Target("target");
  std::vector<Mount> mounts = {{.type = "bind", .source = a, .options = {"rbind"}},
                               {.type = "bind", .source = b, .options = {"rbind", "ro"}}};
  ASSERT_TRUE(MountAll(mounts, target).ok());
  EXPECT_EQ(Slurp(target + "/which"), "b");
  ASSERT_TRUE(UnmountAll(target).ok());
  EXPECT_FALSE(IsMountPoint(target));
  EXPECT_FALSE(std::filesystem::exists(target + "/which"));
  EXPECT_TRUE(UnmountAll(dir_ + "/missing").ok());
  EXPECT_TRUE(UnmountAll("").ok());
}

TEST_F(MountTest, DetachAllLeavesTheNamespaceAtOnceAndReleasesOnClose) {
  std::string l1 = MakeDir("l1"), upper = MakeDir("upper"), work = MakeDir("work");
  std::string a = MakeDir("a");
  ASSERT_TRUE(WriteFile(a + "/which", "a", 0644).ok());
  std::string target = Target("target");
  std::vector<Mount> mounts = {
      {.type = "bind", .source = a, .options = {"rbind"}},
      {.type = "overlay",
       .source = "overlay",
       .options = {absl::StrCat("workdir=", work), absl::StrCat("upperdir=", upper),
                   absl::StrCat("lowerdir=", l1)}}};
  ASSERT_TRUE(MountAll(mounts, target).ok());
  ASSERT_TRUE(WriteFile(target + "/written", "x", 0644).ok());
  std::vector<UniqueFd> holds;
  ASSERT_TRUE(DetachAll(target, &holds).ok());
  EXPECT_FALSE(IsMountPoint(target));
  EXPECT_FALSE(std::filesystem::exists(target + "/which"));
  EXPECT_EQ(rmdir(target.c_str()), 0) << "an ordinary empty directory again";
  ASSERT_EQ(holds.size(), 2u) << "one per mount of the stack, top first";
  // The detached file systems live on through the fds: the overlay still shows its file.
  struct stat st;
  EXPECT_EQ(fstatat(holds[0].get(), "written", &st, 0), 0);
  EXPECT_EQ(fstatat(holds[1].get(), "which", &st, 0), 0);
  holds.clear();
  EXPECT_EQ(Slurp(upper + "/written"), "x");
  EXPECT_TRUE(DetachAll(target, &holds).ok()) << "missing: nothing to do";
  EXPECT_TRUE(holds.empty());
}

TEST_F(MountTest, UnsupportedKindsAreUnimplemented) {
  std::string target = Target("target");
  EXPECT_EQ(MountAt({.type = "fuse.sshfs", .source = "x", .options = {}}, target).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(MountAt({.type = "ext4", .source = "/img", .options = {"loop"}}, target).code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace berth::sys
