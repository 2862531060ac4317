#include "snapshots/testsuite/testsuite.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::snapshots::testsuite {

std::string FactoryName(const ::testing::TestParamInfo<SnapshotterFactory>& info) {
  return info.param.name;
}

void SnapshotterSuite::SetUp() {
  tmp_ = MakeTempDir(absl::StrCat("snapshot-suite-", GetParam().name, "-"));
  ASSERT_FALSE(tmp_.empty());
  root_ = tmp_ + "/root";
  work_ = tmp_ + "/work";
  ASSERT_TRUE(std::filesystem::create_directories(root_));
  ASSERT_TRUE(std::filesystem::create_directories(work_));
  auto sn = GetParam().open(root_);
  ASSERT_TRUE(sn.ok()) << "failed to initialize snapshotter: " << sn.status();
  sn_ = *std::move(sn);
}

void SnapshotterSuite::TearDown() {
  // Mounts first: removing the directory through a mount would delete snapshot contents.
  EXPECT_TRUE(UnmountUnder(tmp_)) << "mounts left under " << tmp_;
  if (sn_ != nullptr) {
    EXPECT_TRUE(sn_->Close().ok());
  }
  sn_.reset();
  EXPECT_TRUE(RemoveTempDir(tmp_));
}

void SnapshotterSuite::Reopen() {
  ASSERT_TRUE(sn_->Close().ok());
  sn_.reset();
  auto sn = GetParam().open(root_);
  ASSERT_TRUE(sn.ok()) << "failed to reopen snapshotter: " << sn.status();
  sn_ = *std::move(sn);
}

Labels SnapshotterSuite::Opt() {
  static const Labels labels = {
      {"containerd.io/gc.root",
       absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone())}};
  return labels;
}

std::string SnapshotterSuite::WorkDir(const std::string& name) {
  std::string path = absl::StrCat(work_, "/", name);
  std::filesystem::create_directories(path);
  return path;
}

::testing::AssertionResult SnapshotterSuite::MountOn(const std::vector<sys::Mount>& mounts,
                                                     const std::string& target) {
  if (mounts.empty()) return ::testing::AssertionFailure() << "expected mounts to have entries";
  absl::Status st = sys::MountAll(mounts, target);
  if (!st.ok()) return ::testing::AssertionFailure() << st;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult SnapshotterSuite::UnmountFrom(const std::string& target) {
  absl::Status st = sys::UnmountAll(target);
  if (!st.ok()) return ::testing::AssertionFailure() << st;
  return ::testing::AssertionSuccess();
}

std::string SnapshotterSuite::PrepareMount(const std::string& name, const std::string& parent) {
  std::string path = WorkDir(name);
  auto mounts = sn_->Prepare(path, parent, Opt());
  if (!mounts.ok()) {
    ADD_FAILURE() << "prepare " << path << ": " << mounts.status();
    return "";
  }
  if (!MountOn(*mounts, path)) {
    ADD_FAILURE() << "mount " << path;
    return "";
  }
  return path;
}

namespace {

// Mounts `mounts` on a temporary directory under `work`, runs `fn` on it, unmounts and removes
// the directory (containerd's applyToMounts / checkSnapshot plumbing).
absl::Status WithMounted(const std::vector<sys::Mount>& mounts, const std::string& work,
                         const std::function<absl::Status(const std::string&)>& fn) {
  const std::string td = MakeTempDirIn(work, "mnt");
  if (td.empty()) return absl::InternalError("mkdtemp failed");
  absl::Status st = sys::MountAll(mounts, td);
  if (st.ok()) {
    st = fn(td);
    absl::Status un = sys::UnmountAll(td);
    if (st.ok()) st = un;
  }
  if (UnmountUnder(td)) std::filesystem::remove(td);
  return st;
}

}  // namespace

absl::StatusOr<std::string> SnapshotterSuite::CreateSnapshot(const std::string& parent,
                                                             const Applier& applier) {
  static std::mt19937_64 rng(std::random_device{}());
  const std::string name = absl::StrCat("snap-", rng());
  const std::string prepare = name + "-prepare";
  auto mounts = sn_->Prepare(prepare, parent, Opt());
  if (!mounts.ok()) return Annotate(mounts.status(), "failed to prepare snapshot");
  RETURN_IF_ERROR(Annotate(WithMounted(*mounts, work_, applier), "failed to apply"));
  RETURN_IF_ERROR(Annotate(sn_->Commit(name, prepare, Opt()), "failed to commit"));
  return name;
}

absl::Status SnapshotterSuite::CheckSnapshot(const std::string& name, const std::string& check) {
  const std::string view = name + "-view";
  auto mounts = sn_->View(view, name, Opt());
  if (!mounts.ok()) return Annotate(mounts.status(), "failed to create view");
  absl::Status st = WithMounted(
      *mounts, work_, [&](const std::string& dir) { return CheckDirectoryEqual(check, dir); });
  absl::Status rm = sn_->Remove(view);
  return st.ok() ? Annotate(rm, "failed to remove view") : st;
}

absl::Status SnapshotterSuite::CheckSnapshots(const std::vector<Applier>& appliers) {
  const std::string flat = MakeTempDirIn(work_, "flat");
  if (flat.empty()) return absl::InternalError("mkdtemp failed");
  std::string parent;
  for (size_t i = 0; i < appliers.size(); ++i) {
    const std::string layer = absl::StrCat("snapshot ", i + 1);
    absl::StatusOr<std::string> s = CreateSnapshot(parent, appliers[i]);
    if (!s.ok()) return Annotate(s.status(), absl::StrCat("failed to create ", layer));
    RETURN_IF_ERROR(Annotate(appliers[i](flat), absl::StrCat("apply to flat dir for ", layer)));
    RETURN_IF_ERROR(Annotate(CheckSnapshot(*s, flat), absl::StrCat("check failed on ", layer)));
    parent = *s;
  }
  return absl::OkStatus();
}

std::vector<std::string> SnapshotterSuite::WalkNames(std::vector<std::string> filters) {
  std::vector<std::string> names;
  absl::Status st = sn_->Walk(
      [&](const Info& info) {
        names.push_back(info.name);
        return absl::OkStatus();
      },
      filters);
  EXPECT_TRUE(st.ok()) << st;
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace berth::snapshots::testsuite
