// The snapshotter conformance suite (containerd's snapshots/testsuite, plus berth's cases for error
// codes, usage, persistence, cleanup and concurrency). Every Snapshotter implementation
// instantiates it with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(Overlay, SnapshotterSuite,
//                            ::testing::Values(SnapshotterFactory{"Overlay", OpenOverlay}),
//                            FactoryName);
//
// The suite mounts for real (it must run as root) and checks files through the mounts. Each test
// gets a temporary directory holding `root/` (the snapshotter's) and `work/` (mount points);
// TearDown detaches every mount under it before deleting it, even after a failed assertion.
//
// Thread-safety: test code; each test owns its directory and snapshotter.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "snapshots/snapshotter.h"
#include "snapshots/testsuite/fstest.h"

namespace berth::snapshots::testsuite {

// Status assertions for the cases.

#define ASSERT_OK(expr)                            \
  do {                                             \
    const absl::Status st_ = (expr);               \
    ASSERT_TRUE(st_.ok()) << #expr << ": " << st_; \
  } while (0)
#define EXPECT_OK(expr)                            \
  do {                                             \
    const absl::Status st_ = (expr);               \
    EXPECT_TRUE(st_.ok()) << #expr << ": " << st_; \
  } while (0)

// The value of `v`, or T{} after reporting its error: never aborts the way StatusOr::operator*
// does, so TearDown still runs and unmounts.
template <typename T>
T Value(absl::StatusOr<T> v) {
  if (!v.ok()) {
    ADD_FAILURE() << v.status();
    return T{};
  }
  return *std::move(v);
}

struct SnapshotterFactory {
  std::string name;
  // Opens a snapshotter on `root`, an existing directory that may hold a previous instance's
  // state (the persistence tests reopen).
  std::function<absl::StatusOr<std::unique_ptr<Snapshotter>>(const std::string& root)> open;
};

// Test names show the factory's name, not its bytes.
inline void PrintTo(const SnapshotterFactory& factory, std::ostream* os) { *os << factory.name; }

// For INSTANTIATE_TEST_SUITE_P's name generator.
std::string FactoryName(const ::testing::TestParamInfo<SnapshotterFactory>& info);

class SnapshotterSuite : public ::testing::TestWithParam<SnapshotterFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Closes the snapshotter and opens a new one on the same root.
  void Reopen();

  // The labels containerd's suite passes to every call (a gc.root label).
  static Labels Opt();

  // work/<name>, created.
  std::string WorkDir(const std::string& name);

  // Prepares the active snapshot `key` = work/<name> on `parent` and mounts it on work/<name>
  // (containerd's snapshotterPrepareMount); returns that path, "" after a failure (reported).
  std::string PrepareMount(const std::string& name, const std::string& parent);

  // Mounts `mounts` on `target`, or reports why not.
  ::testing::AssertionResult MountOn(const std::vector<sys::Mount>& mounts,
                                     const std::string& target);
  ::testing::AssertionResult UnmountFrom(const std::string& target);

  // containerd's createSnapshot: a committed snapshot (returned name) on `parent` whose content
  // is `applier` applied through a temporary mount.
  absl::StatusOr<std::string> CreateSnapshot(const std::string& parent, const Applier& applier);
  // containerd's checkSnapshot: a view of `name`, mounted and compared with `check`.
  absl::Status CheckSnapshot(const std::string& name, const std::string& check);
  // containerd's checkSnapshots: a chain with one layer per applier, each checked against the
  // same appliers applied to a flat directory.
  absl::Status CheckSnapshots(const std::vector<Applier>& appliers);

  // Names of the snapshots Walk reports for `filters`, sorted.
  std::vector<std::string> WalkNames(std::vector<std::string> filters = {});

  std::string tmp_, root_, work_;
  std::unique_ptr<Snapshotter> sn_;
};

}  // namespace berth::snapshots::testsuite
