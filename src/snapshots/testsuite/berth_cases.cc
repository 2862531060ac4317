// berth's own conformance cases: the exact error classes (clients branch on them), usage,
// persistence across a reopen, cleanup, concurrency.
#include <atomic>
#include <map>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "snapshots/testsuite/testsuite.h"
#include "sys/file.h"
#include "sys/mount.h"

namespace berth::snapshots::testsuite {
namespace {

using ::absl::StatusCode;

// Code and full message, as a client would see them.
::testing::AssertionResult Fails(const absl::Status& st, StatusCode code,
                                 absl::string_view message) {
  if (st.code() == code && st.message() == message) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "got " << st << ", want " << absl::StatusCodeToString(code) << ": " << message;
}

TEST_P(SnapshotterSuite, ErrorsAreContainerds) {
  EXPECT_TRUE(Fails(sn_->Stat("missing").status(), StatusCode::kNotFound,
                    "snapshot missing does not exist: not found"));
  EXPECT_TRUE(Fails(sn_->Usage("missing").status(), StatusCode::kNotFound,
                    "snapshot missing does not exist: not found"));
  EXPECT_EQ(sn_->Mounts("missing").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Fails(sn_->Remove("missing"), StatusCode::kNotFound,
                    "failed to remove: snapshot missing: not found"));
  EXPECT_TRUE(Fails(sn_->Commit("c", "missing", {}), StatusCode::kNotFound,
                    "snapshot missing does not exist: not found"));
  Info missing{.name = "missing"};
  EXPECT_EQ(sn_->Update(missing, {}).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Fails(sn_->Prepare("b", "missing", {}).status(), StatusCode::kNotFound,
                    "failed to create snapshot: missing parent \"missing\" bucket: not found"));

  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  EXPECT_TRUE(Fails(sn_->Prepare("a", "", {}).status(), StatusCode::kAlreadyExists,
                    "failed to create snapshot: snapshot a: already exists"));
  EXPECT_EQ(sn_->View("a", "", {}).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Fails(sn_->Prepare("b", "a", {}).status(), StatusCode::kInvalidArgument,
                    "failed to create snapshot: parent \"a\" is not committed snapshot: "
                    "invalid argument"));

  ASSERT_OK(sn_->Commit("c", "a", {}));
  EXPECT_FALSE(sn_->Stat("a").ok());
  EXPECT_TRUE(
      Fails(sn_->Commit("c2", "c", {}), StatusCode::kFailedPrecondition,
            "failed to commit snapshot: snapshot \"c\" is not active: failed precondition"));
  EXPECT_TRUE(Fails(sn_->Mounts("c").status(), StatusCode::kFailedPrecondition,
                    sn_->Mounts("c").status().message()));
  EXPECT_NE(sn_->Mounts("c").status().message().find("not active or view"), std::string::npos);

  ASSERT_TRUE(sn_->View("v", "c", {}).ok());
  EXPECT_EQ(sn_->Commit("c3", "v", {}).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(sn_->Prepare("a2", "c", {}).ok());
  EXPECT_TRUE(Fails(sn_->Commit("c", "a2", {}), StatusCode::kAlreadyExists,
                    "failed to commit snapshot: committed snapshot c: already exists"));
  EXPECT_EQ(sn_->Commit("v", "a2", {}).code(), StatusCode::kAlreadyExists) << "keys and names";
  EXPECT_TRUE(Fails(sn_->Remove("c"), StatusCode::kFailedPrecondition,
                    "failed to remove: cannot remove snapshot with child: failed precondition"));

  Info c{.name = "c"};
  const std::vector<std::string> kind = {"kind"};
  EXPECT_TRUE(Fails(sn_->Update(c, kind).status(), StatusCode::kInvalidArgument,
                    "cannot update \"kind\" field on snapshot \"c\": invalid argument"));
  c.labels = {{"big", std::string(5000, 'x')}};
  EXPECT_EQ(sn_->Update(c, {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(sn_->Prepare("big", "", c.labels).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(sn_->Stat("big").ok()) << "nothing created";
  const std::vector<std::string> bad = {"name=="};
  EXPECT_EQ(sn_->Walk([](const Info&) { return absl::OkStatus(); }, bad).code(),
            StatusCode::kInvalidArgument);
}

TEST_P(SnapshotterSuite, ClosedSnapshotterFailsPrecondition) {
  ASSERT_TRUE(sn_->Prepare("a", "", {}).ok());
  ASSERT_OK(sn_->Close());
  EXPECT_TRUE(Fails(sn_->Stat("a").status(), StatusCode::kFailedPrecondition,
                    "snapshotter is closed: failed precondition"));
  EXPECT_EQ(sn_->Prepare("b", "", {}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sn_->Remove("a").code(), StatusCode::kFailedPrecondition);
  EXPECT_OK(sn_->Close());
}

TEST_P(SnapshotterSuite, WalkStopsAtTheFirstError) {
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(sn_->Prepare(key, "", {}).ok());
  std::vector<std::string> seen;
  absl::Status st = sn_->Walk(
      [&](const Info& info) -> absl::Status {
        seen.push_back(info.name);
        if (info.name == "b") return absl::CancelledError("enough");
        return absl::OkStatus();
      },
      {});
  EXPECT_EQ(st.code(), StatusCode::kCancelled);
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b"})) << "in key order";
}

TEST_P(SnapshotterSuite, LabelsOnCreateAndCommit) {
  ASSERT_TRUE(sn_->Prepare("a", "", {{"x", "1"}, {"empty", ""}}).ok());
  EXPECT_EQ(Value(sn_->Stat("a")).labels, (Labels{{"x", "1"}})) << "empty values are not stored";
  ASSERT_OK(sn_->Commit("c", "a", {{"y", "2"}}));
  EXPECT_EQ(Value(sn_->Stat("c")).labels, (Labels{{"y", "2"}})) << "commit does not inherit labels";
  const std::vector<std::string> filters = {"labels.y==2"};
  EXPECT_EQ(WalkNames(filters), (std::vector<std::string>{"c"}));
}

TEST_P(SnapshotterSuite, MountsRepeatWhatPrepareReturned) {
  ASSERT_TRUE(sn_->Prepare("base-a", "", {}).ok());
  ASSERT_OK(sn_->Commit("base", "base-a", {}));
  for (const auto& [key, parent, view] : std::vector<std::tuple<std::string, std::string, bool>>{
           {"a0", "", false}, {"a1", "base", false}, {"v0", "", true}, {"v1", "base", true}}) {
    auto created = view ? sn_->View(key, parent, {}) : sn_->Prepare(key, parent, {});
    ASSERT_TRUE(created.ok()) << created.status();
    auto again = sn_->Mounts(key);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*created, *again) << key;
  }
}

TEST_P(SnapshotterSuite, Usage) {
  const std::string preparing = PrepareMount("preparing", "");
  ASSERT_FALSE(preparing.empty());
  auto empty = sn_->Usage(preparing);
  ASSERT_TRUE(empty.ok()) << empty.status();
  ASSERT_OK(sys::WriteFile(preparing + "/big", std::string(1 << 20, 'x'), 0644));
  ASSERT_OK(CreateDir("/dir", 0755)(preparing));
  ASSERT_OK(CreateFile("/dir/small", "x", 0644)(preparing));
  auto active = sn_->Usage(preparing);
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_GE(active->size, empty->size + (1 << 20)) << "measured on demand";
  EXPECT_EQ(active->inodes, empty->inodes + 3);
  ASSERT_TRUE(UnmountFrom(preparing));

  ASSERT_OK(sn_->Commit("committed", preparing, {}));
  auto committed = sn_->Usage("committed");
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ(*committed, *active) << "measured at commit";
  ASSERT_TRUE(sn_->View("view", "committed", {}).ok());
  auto view = sn_->Usage("view");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->size, 0) << "a view has nothing of its own";
}

TEST_P(SnapshotterSuite, ReopenKeepsEverything) {
  const std::string base = PrepareMount("base", "");
  ASSERT_FALSE(base.empty());
  ASSERT_OK(sys::WriteFile(base + "/file", "kept", 0644));
  ASSERT_TRUE(UnmountFrom(base));
  ASSERT_OK(sn_->Commit("committed", base, {{"l", "1"}}));
  ASSERT_TRUE(sn_->Prepare("active", "committed", {{"l", "2"}}).ok());
  ASSERT_TRUE(sn_->View("view", "committed", {}).ok());
  auto usage = sn_->Usage("committed");
  ASSERT_TRUE(usage.ok());
  std::map<std::string, Info> before;
  ASSERT_OK(sn_->Walk([&](const Info& i) { return before[i.name] = i, absl::OkStatus(); }, {}));
  auto mounts = sn_->Mounts("active");
  ASSERT_TRUE(mounts.ok());

  Reopen();
  ASSERT_NE(sn_, nullptr);
  std::map<std::string, Info> after;
  ASSERT_OK(sn_->Walk([&](const Info& i) { return after[i.name] = i, absl::OkStatus(); }, {}));
  EXPECT_EQ(after, before);
  EXPECT_EQ(Value(sn_->Usage("committed")), *usage);
  EXPECT_EQ(Value(sn_->Mounts("active")), *mounts);
  const std::string target = WorkDir("active-mount");
  ASSERT_TRUE(MountOn(Value(sn_->Mounts("active")), target));
  EXPECT_EQ(Value(sys::ReadFile(target + "/file")), "kept");
  ASSERT_TRUE(UnmountFrom(target));
  // New snapshots keep working, and do not collide with the old ones.
  ASSERT_TRUE(sn_->Prepare("after-reopen", "committed", {}).ok());
  EXPECT_OK(sn_->Remove("after-reopen"));
  EXPECT_OK(sn_->Remove("active"));
  EXPECT_OK(sn_->Remove("view"));
  EXPECT_OK(sn_->Remove("committed"));
}

// Cleanup must never touch what is still referenced.
TEST_P(SnapshotterSuite, CleanupKeepsLiveSnapshots) {
  auto layer = CreateSnapshot("", CreateFile("/kept", "yes", 0644));
  ASSERT_TRUE(layer.ok()) << layer.status();
  ASSERT_TRUE(sn_->Prepare("active", *layer, {}).ok());
  ASSERT_TRUE(sn_->Prepare("gone", *layer, {}).ok());
  ASSERT_OK(sn_->Remove("gone"));
  ASSERT_OK(sn_->Cleanup());
  ASSERT_OK(sn_->Cleanup());
  const std::string expect = MakeTempDirIn(work_, "expect");
  ASSERT_OK(CreateFile("/kept", "yes", 0644)(expect));
  EXPECT_OK(CheckSnapshot(*layer, expect));
  const std::string target = WorkDir("active");
  ASSERT_TRUE(MountOn(Value(sn_->Mounts("active")), target));
  EXPECT_EQ(Value(sys::ReadFile(target + "/kept")), "yes");
  ASSERT_TRUE(UnmountFrom(target));
}

// Many threads preparing, committing, viewing, walking and removing at once.
TEST_P(SnapshotterSuite, ConcurrentCalls) {
  auto base = CreateSnapshot("", CreateFile("/base", "b", 0644));
  ASSERT_TRUE(base.ok()) << base.status();
  std::atomic<int> failures = 0;
  std::atomic<bool> done = false;
  auto check = [&](const absl::Status& st, const std::string& what) {
    if (!st.ok()) {
      ++failures;
      ADD_FAILURE() << what << ": " << st;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        const std::string n = absl::StrCat("t", t, "-", i);
        check(sn_->Prepare(n + "-a", *base, {}).status(), n + " prepare");
        check(sn_->Commit(n, n + "-a", {}), n + " commit");
        check(sn_->View(n + "-v", n, {}).status(), n + " view");
        check(sn_->Stat(n + "-v").status(), n + " stat");
        check(sn_->Remove(n + "-v"), n + " remove view");
        check(sn_->Remove(n), n + " remove");
      }
    });
  }
  std::thread background([&] {
    while (!done) {
      check(sn_->Walk([](const Info&) { return absl::OkStatus(); }, {}), "walk");
      check(sn_->Cleanup(), "cleanup");
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  background.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(WalkNames(), (std::vector<std::string>{*base}));
  const std::string expect = MakeTempDirIn(work_, "expect");
  ASSERT_OK(CreateFile("/base", "b", 0644)(expect));
  EXPECT_OK(CheckSnapshot(*base, expect));
}

}  // namespace
}  // namespace berth::snapshots::testsuite
