#include "snapshots/overlay/overlay.h"

#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "snapshots/testsuite/testsuite.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::snapshots {
namespace {

using testsuite::SnapshotterFactory;
using testsuite::SnapshotterSuite;

SnapshotterFactory Factory(std::string name, OverlayOptions options) {
  return {std::move(name),
          [options](const std::string& root) -> absl::StatusOr<std::unique_ptr<Snapshotter>> {
            auto s = OverlaySnapshotter::Open(root, options);
            if (!s.ok()) return s.status();
            return std::unique_ptr<Snapshotter>(*std::move(s));
          }};
}

INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterSuite,
                         ::testing::Values(Factory("Overlay", {}),
                                           Factory("OverlayAsyncRemove", {.async_remove = true})),
                         testsuite::FactoryName);

bool KernelHasIndex() { return std::filesystem::exists("/sys/module/overlay/parameters/index"); }

class OverlayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = testsuite::MakeTempDir("berth-overlay-");
    ASSERT_FALSE(tmp_.empty());
    root_ = tmp_ + "/root";
    Open({.upperdir_label = true});
  }
  void TearDown() override {
    EXPECT_TRUE(testsuite::UnmountUnder(tmp_));
    sn_.reset();
    EXPECT_TRUE(testsuite::RemoveTempDir(tmp_));
  }
  void Open(OverlayOptions options) {
    sn_.reset();
    auto s = OverlaySnapshotter::Open(root_, options);
    ASSERT_TRUE(s.ok()) << s.status();
    sn_ = *std::move(s);
  }
  // The fs directory of `key`, from the upperdir label.
  std::string Upper(const std::string& key) {
    auto info = sn_->Stat(key);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->labels[kUpperdirLabel] : "";
  }
  std::string SnapshotsDir() const { return root_ + "/snapshots"; }
  std::vector<std::string> Entries() const {
    auto names = sys::ListDir(SnapshotsDir());
    EXPECT_TRUE(names.ok()) << names.status();
    return names.ok() ? *names : std::vector<std::string>{};
  }
  std::vector<std::string> Prefixed(std::vector<std::string> options) const {
    if (KernelHasIndex()) options.insert(options.begin(), "index=off");
    return options;
  }

  std::string tmp_, root_;
  std::unique_ptr<OverlaySnapshotter> sn_;
};

TEST_F(OverlayTest, LayoutOnDisk) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  ASSERT_TRUE(sn_->View("v", "", {}).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ + "/metadata.db"));
  EXPECT_EQ(Upper("a"), SnapshotsDir() + "/1/fs");
  EXPECT_TRUE(std::filesystem::is_directory(SnapshotsDir() + "/1/fs"));
  EXPECT_TRUE(std::filesystem::is_directory(SnapshotsDir() + "/1/work"));
  EXPECT_TRUE(std::filesystem::is_directory(SnapshotsDir() + "/2/fs"));
  EXPECT_FALSE(std::filesystem::exists(SnapshotsDir() + "/2/work")) << "views have no workdir";
  struct stat st;
  ASSERT_EQ(::stat((SnapshotsDir() + "/1/work").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0711u);
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1", "2"}));
}

// Mounts as containerd 1.6 returns them, for every kind and depth.
TEST_F(OverlayTest, MountOptionsShape) {
  auto a = sn_->Prepare("a", "", {});
  ASSERT_TRUE(a.ok());
  const std::string a_fs = Upper("a");
  EXPECT_EQ(*a, (std::vector<sys::Mount>{{"bind", a_fs, {"rw", "rbind"}}}));
  auto v0 = sn_->View("v0", "", {});
  ASSERT_TRUE(v0.ok());
  EXPECT_EQ(*v0, (std::vector<sys::Mount>{{"bind", Upper("v0"), {"ro", "rbind"}}}));

  ASSERT_TRUE(sn_->Commit("c1", "a", {}).ok());
  EXPECT_EQ(Upper("c1"), a_fs) << "commit keeps fs as the committed layer";
  auto a2 = sn_->Prepare("a2", "c1", {});
  ASSERT_TRUE(a2.ok());
  const std::string a2_fs = Upper("a2");
  const std::string a2_work = a2_fs.substr(0, a2_fs.size() - 2) + "work";
  EXPECT_EQ(*a2, (std::vector<sys::Mount>{
                     {"overlay", "overlay",
                      Prefixed({"workdir=" + a2_work, "upperdir=" + a2_fs, "lowerdir=" + a_fs})}}));
  auto v1 = sn_->View("v1", "c1", {});
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(*v1, (std::vector<sys::Mount>{{"bind", a_fs, {"ro", "rbind"}}}))
      << "a view of one layer binds that layer read-only";

  ASSERT_TRUE(sn_->Commit("c2", "a2", {}).ok());
  auto v2 = sn_->View("v2", "c2", {});
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(*v2, (std::vector<sys::Mount>{
                     {"overlay", "overlay", Prefixed({"lowerdir=" + a2_fs + ":" + a_fs})}}))
      << "nearest parent first, no upper";
  auto a3 = sn_->Prepare("a3", "c2", {});
  ASSERT_TRUE(a3.ok());
  EXPECT_TRUE(absl::EndsWith(a3->at(0).options.back(), "lowerdir=" + a2_fs + ":" + a_fs));
}

// The upperdir label is reported, never stored.
TEST_F(OverlayTest, UpperdirLabel) {
  ASSERT_TRUE(sn_->Prepare("a", "", {{"x", "1"}}).ok());
  Info info{.name = "a", .labels = {{"y", "2"}}};
  auto updated = sn_->Update(info, {});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels.at(kUpperdirLabel), Upper("a"));
  EXPECT_EQ(updated->labels.at("y"), "2");
  Open({});
  EXPECT_EQ(testsuite::Value(sn_->Stat("a")).labels, (Labels{{"y", "2"}}));
}

// A new layer's root is owned like the layer below it.
TEST_F(OverlayTest, NewLayerTakesParentOwner) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  ASSERT_EQ(::chown(Upper("a").c_str(), 1234, 5678), 0);
  ASSERT_TRUE(sn_->Commit("c", "a", {}).ok());
  ASSERT_TRUE(sn_->Prepare("b", "c", {}).ok());
  struct stat st;
  ASSERT_EQ(::stat(Upper("b").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
}

// 128 layers under a root long enough that the lowerdir option is far over one page: the view
// mounts (sys::MountAt compacts the option) and shows every layer.
TEST_F(OverlayTest, DeepChainPastOnePageMounts) {
  root_ = tmp_ + "/" + std::string(60, 'r') + "/root";
  Open({.upperdir_label = true});
  std::string parent;
  for (int i = 0; i < 128; ++i) {
    const std::string key = absl::StrCat("layer-", i, "-active");
    auto mounts = sn_->Prepare(key, parent, {});
    ASSERT_TRUE(mounts.ok()) << mounts.status();
    // The upper layer is the snapshot's fs: fill it directly, without mounting.
    auto info = sn_->Stat(key);
    ASSERT_TRUE(info.ok());
    const std::string fs = absl::StrCat(root_, "/snapshots/", i + 1, "/fs");
    ASSERT_TRUE(sys::WriteFile(absl::StrCat(fs, "/file-", i), "", 0644).ok());
    ASSERT_TRUE(sys::WriteFile(fs + "/top", absl::StrCat(i), 0644).ok());
    parent = absl::StrCat("layer-", i);
    ASSERT_TRUE(sn_->Commit(parent, key, {}).ok());
  }
  auto view = sn_->View("view", parent, {});
  ASSERT_TRUE(view.ok()) << view.status();
  ASSERT_EQ(view->size(), 1u);
  const std::string& lowerdir = view->at(0).options.back();
  EXPECT_GT(lowerdir.size(), 4096u);
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(lowerdir, ':')).size(), 128u);
  const std::string target = tmp_ + "/view";
  ASSERT_TRUE(std::filesystem::create_directories(target));
  absl::Status st = sys::MountAll(*view, target);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_TRUE(std::filesystem::exists(target + "/file-0"));
  EXPECT_TRUE(std::filesystem::exists(target + "/file-127"));
  EXPECT_EQ(testsuite::Value(sys::ReadFile(target + "/top")), "127");
  ASSERT_TRUE(sys::UnmountAll(target).ok());

  // An active snapshot on top mounts too (upperdir and workdir stay absolute).
  auto active = sn_->Prepare("top", parent, {});
  ASSERT_TRUE(active.ok());
  st = sys::MountAll(*active, target);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(sys::WriteFile(target + "/new", "x", 0644).ok());
  EXPECT_EQ(testsuite::Value(sys::ReadFile(target + "/file-0")), "");
  ASSERT_TRUE(sys::UnmountAll(target).ok());
  EXPECT_EQ(testsuite::Value(sys::ReadFile(Upper("top") + "/new")), "x")
      << "written to the upper layer";
}

// What a crash leaves in snapshots/ is removed by Cleanup; live snapshots stay.
TEST_F(OverlayTest, CleanupRemovesOrphansAfterCrash) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());  // id 1
  ASSERT_TRUE(sn_->Commit("c", "a", {}).ok());
  ASSERT_TRUE(sn_->Prepare("b", "c", {}).ok());  // id 2
  // A crash mid-Prepare (temp dir), mid-Remove (renamed dir), and after the rename of a new
  // snapshot whose record never committed (id 3, the next one).
  for (const char* dir : {"new-abc123/fs", "rm-7/fs", "3/fs"}) {
    ASSERT_TRUE(std::filesystem::create_directories(SnapshotsDir() + "/" + dir));
  }
  ASSERT_TRUE(sys::WriteFile(SnapshotsDir() + "/3/fs/junk", "stale", 0644).ok());
  sn_.reset();  // the "crash"
  Open({.upperdir_label = true});
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(sn_->Stat("c").ok());
  EXPECT_TRUE(sn_->Stat("b").ok());

  // Again, and this time the stale id-3 directory is in the way of the next Prepare.
  ASSERT_TRUE(std::filesystem::create_directories(SnapshotsDir() + "/3/fs"));
  ASSERT_TRUE(sys::WriteFile(SnapshotsDir() + "/3/fs/junk", "stale", 0644).ok());
  ASSERT_TRUE(sn_->Prepare("d", "c", {}).ok());
  EXPECT_EQ(Upper("d"), SnapshotsDir() + "/3/fs");
  EXPECT_TRUE(std::filesystem::is_empty(Upper("d"))) << "the stale content was moved aside";
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(OverlayTest, RemoveIsInlineOrDeferred) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  ASSERT_TRUE(sn_->Remove("a").ok());
  EXPECT_TRUE(Entries().empty()) << "removed inline";

  Open({.async_remove = true, .upperdir_label = true});
  ASSERT_TRUE(sn_->Prepare("b", "", {}).ok());
  ASSERT_TRUE(sys::WriteFile(Upper("b") + "/f", "x", 0644).ok());
  ASSERT_TRUE(sn_->Remove("b").ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"rm-2"})) << "left for Cleanup";
  EXPECT_TRUE(sn_->Prepare("b", "", {}).ok()) << "the key is free at once";
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_EQ(Entries(), (std::vector<std::string>{"3"}));
}

}  // namespace
}  // namespace berth::snapshots
