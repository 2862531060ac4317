// The namespaced snapshot store over the real overlayfs and native snapshotters: containerd's
// conformance suite through the metadata layer, then what the layer itself adds (namespaces,
// errors, labels, leases, crash leftovers and Cleanup, concurrency).
#include "metadata/snapshots.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "gtest/gtest.h"
#include "metadata/test_util.h"
#include "snapshots/native/native.h"
#include "snapshots/overlay/overlay.h"
#include "snapshots/testsuite/testsuite.h"
#include "sys/file.h"

namespace berth::metadata {
namespace {

using absl::StatusCode;
using snapshots::Info;
using snapshots::Kind;
using snapshots::Snapshotter;
using snapshots::testsuite::SnapshotterSuite;

absl::StatusOr<std::unique_ptr<Snapshotter>> OpenBackend(const std::string& kind,
                                                         const std::string& root) {
  if (kind == "native") {
    auto s = snapshots::NativeSnapshotter::Open(root);
    if (!s.ok()) return s.status();
    return std::unique_ptr<Snapshotter>(*std::move(s));
  }
  auto s = snapshots::OverlaySnapshotter::Open(root);
  if (!s.ok()) return s.status();
  return std::unique_ptr<Snapshotter>(*std::move(s));
}

// A metadata database, one backend and the store's view of namespace "testing", owned together
// so that the conformance suite can drive the stack the Snapshots service uses.
class OwningView : public Snapshotter {
 public:
  static absl::StatusOr<std::unique_ptr<Snapshotter>> Open(const std::string& kind,
                                                           const std::string& root) {
    auto v = std::unique_ptr<OwningView>(new OwningView());
    std::filesystem::create_directories(root + "/meta");
    auto db = Store::Open(root + "/meta");
    if (!db.ok()) return db.status();
    v->db_ = *std::move(db);
    auto backend = OpenBackend(kind, root + "/" + kind);
    if (!backend.ok()) return backend.status();
    v->backend_ = *std::move(backend);
    v->store_ = std::make_unique<SnapshotStore>(
        &v->db_->db(), std::map<std::string, Snapshotter*>{{kind, v->backend_.get()}});
    auto view = v->store_->View(kind, "testing", std::nullopt);
    if (!view.ok()) return view.status();
    v->view_ = *std::move(view);
    return std::unique_ptr<Snapshotter>(std::move(v));
  }

  absl::StatusOr<Info> Stat(const std::string& key) override { return view_->Stat(key); }
  absl::StatusOr<Info> Update(const Info& info, std::span<const std::string> paths) override {
    return view_->Update(info, paths);
  }
  absl::StatusOr<snapshots::Usage> Usage(const std::string& key) override {
    return view_->Usage(key);
  }
  absl::StatusOr<std::vector<sys::Mount>> Mounts(const std::string& key) override {
    return view_->Mounts(key);
  }
  absl::StatusOr<std::vector<sys::Mount>> Prepare(const std::string& key, const std::string& parent,
                                                  const Labels& labels) override {
    return view_->Prepare(key, parent, labels);
  }
  absl::StatusOr<std::vector<sys::Mount>> View(const std::string& key, const std::string& parent,
                                               const Labels& labels) override {
    return view_->View(key, parent, labels);
  }
  absl::Status Commit(const std::string& name, const std::string& key,
                      const Labels& labels) override {
    return view_->Commit(name, key, labels);
  }
  absl::Status Remove(const std::string& key) override { return view_->Remove(key); }
  absl::Status Walk(const snapshots::WalkFn& fn, std::span<const std::string> fs) override {
    return view_->Walk(fn, fs);
  }
  absl::Status Cleanup() override { return view_->Cleanup(); }
  // As containerd's metadata snapshotter: closes the backend.
  absl::Status Close() override { return backend_->Close(); }

 private:
  OwningView() = default;
  std::unique_ptr<Store> db_;
  std::unique_ptr<Snapshotter> backend_;
  std::unique_ptr<SnapshotStore> store_;
  std::unique_ptr<Snapshotter> view_;
};

snapshots::testsuite::SnapshotterFactory Factory(std::string kind) {
  return {absl::StrCat("Metadata_", kind),
          [kind](const std::string& root) { return OwningView::Open(kind, root); }};
}

INSTANTIATE_TEST_SUITE_P(Metadata, SnapshotterSuite,
                         ::testing::Values(Factory("overlayfs"), Factory("native")),
                         snapshots::testsuite::FactoryName);

// Both backends under one store; each test runs against the parameter's.
class SnapshotStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const char* kind : {"overlayfs", "native"}) {
      auto b = OpenBackend(kind, absl::StrCat(meta_.dir(), "/", kind));
      ASSERT_TRUE(b.ok()) << b.status();
      backends_[kind] = *std::move(b);
    }
    store_ = std::make_unique<SnapshotStore>(
        &meta_->db(),
        std::map<std::string, Snapshotter*>{{"overlayfs", backends_["overlayfs"].get()},
                                            {"native", backends_["native"].get()}});
  }

  std::unique_ptr<Snapshotter> In(const std::string& ns,
                                  std::optional<std::string> lease = std::nullopt) {
    auto v = store_->View(GetParam(), ns, std::move(lease));
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() ? *std::move(v) : nullptr;
  }
  Snapshotter& backend() { return *backends_[GetParam()]; }

  // Keys as Walk reports them, in order.
  static std::vector<std::string> Names(Snapshotter& sn, std::vector<std::string> filters = {}) {
    std::vector<std::string> out;
    absl::Status st = sn.Walk(
        [&](const Info& info) {
          out.push_back(info.name);
          return absl::OkStatus();
        },
        filters);
    EXPECT_TRUE(st.ok()) << st;
    return out;
  }

  // The directory an active snapshot without parent is bind-mounted from.
  static std::string BindSource(const std::vector<sys::Mount>& mounts) {
    EXPECT_EQ(mounts.size(), 1u);
    return mounts.empty() ? "" : mounts[0].source;
  }

  absl::Status Exec(const std::string& sql) {
    return meta_->db().Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
      return stmt.Exec();
    });
  }

  TempStore meta_;
  std::map<std::string, std::unique_ptr<Snapshotter>> backends_;
  std::unique_ptr<SnapshotStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, SnapshotStoreTest, ::testing::Values("overlayfs", "native"));

TEST_P(SnapshotStoreTest, KeysAreMappedPerNamespace) {
  auto a = In("ns-a"), b = In("ns-b");
  ASSERT_TRUE(a->Prepare("same", "", {}).ok());
  ASSERT_TRUE(b->Prepare("same", "", {}).ok());
  ASSERT_TRUE(b->Prepare("only-b", "", {}).ok());
  EXPECT_EQ(Names(*a), std::vector<std::string>{"same"});
  EXPECT_EQ(Names(*b), (std::vector<std::string>{"only-b", "same"}));
  EXPECT_TRUE(absl::IsNotFound(a->Stat("only-b").status()));
  // The backend sees containerd's "<namespace>/<sequence>/<key>" names, all distinct.
  std::vector<std::string> raw = Names(backend());
  ASSERT_EQ(raw.size(), 3u);
  for (const std::string& name : raw) {
    std::vector<std::string> parts = absl::StrSplit(name, absl::MaxSplits('/', 2));
    ASSERT_EQ(parts.size(), 3u) << name;
    EXPECT_TRUE(parts[0] == "ns-a" || parts[0] == "ns-b") << name;
    int64_t seq;
    EXPECT_TRUE(absl::SimpleAtoi(parts[1], &seq)) << name;
  }
  // Each namespace removes its own.
  ASSERT_TRUE(a->Remove("same").ok());
  EXPECT_TRUE(b->Stat("same").ok());
  EXPECT_EQ(Names(backend()).size(), 2u) << "the backend snapshot went with the row";
}

TEST_P(SnapshotStoreTest, LifecycleAndKinds) {
  auto sn = In("life");
  auto mounts = sn->Prepare("layer-1", "", {{"containerd.io/gc.root", "x"}});
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_TRUE(sys::WriteFile(BindSource(*mounts) + "/hello", "world", 0644).ok());
  EXPECT_EQ(sn->Stat("layer-1")->kind, Kind::kActive);
  EXPECT_EQ(*sn->Mounts("layer-1"), *mounts);

  ASSERT_TRUE(sn->Commit("base", "layer-1", {{"team", "core"}}).ok());
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("layer-1").status()));
  auto base = sn->Stat("base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->kind, Kind::kCommitted);
  EXPECT_EQ(base->parent, "");
  EXPECT_EQ(base->labels, (Labels{{"team", "core"}}));
  EXPECT_GE(sn->Usage("base")->inodes, 2) << "the root directory and /hello";

  ASSERT_TRUE(sn->Prepare("child", "base", {}).ok());
  ASSERT_TRUE(sn->View("look", "base", {}).ok());
  EXPECT_EQ(sn->Stat("child")->parent, "base");
  EXPECT_EQ(sn->Stat("look")->kind, Kind::kView);
  EXPECT_EQ(Names(*sn), (std::vector<std::string>{"base", "child", "look"}));
  EXPECT_EQ(Names(*sn, {"kind==committed"}), std::vector<std::string>{"base"});
  EXPECT_EQ(Names(*sn, {"parent==base"}), (std::vector<std::string>{"child", "look"}));
  EXPECT_EQ(Names(*sn, {"labels.team==core", "name==look"}),
            (std::vector<std::string>{"base", "look"}));

  // A chain: child committed, then a grandchild on it.
  ASSERT_TRUE(sn->Commit("top", "child", {}).ok());
  EXPECT_EQ(sn->Stat("top")->parent, "base");
  ASSERT_TRUE(sn->Prepare("work", "top", {}).ok());
  EXPECT_EQ(sn->Mounts("work")->size(), 1u);

  EXPECT_TRUE(absl::IsFailedPrecondition(sn->Remove("base")));
  for (const char* key : {"work", "top", "look", "base"}) {
    ASSERT_TRUE(sn->Remove(key).ok()) << key;
  }
  EXPECT_TRUE(Names(*sn).empty());
  EXPECT_TRUE(Names(backend()).empty());
}

TEST_P(SnapshotStoreTest, ErrorsAreContainerds) {
  auto sn = In("errors");
  auto fails = [](const absl::Status& st, StatusCode code, absl::string_view message) {
    EXPECT_EQ(st.code(), code) << st;
    EXPECT_EQ(st.message(), message);
  };
  fails(sn->Stat("nope").status(), StatusCode::kNotFound,
        "snapshot nope does not exist: not found");
  fails(sn->Mounts("nope").status(), StatusCode::kNotFound,
        "snapshot nope does not exist: not found");
  fails(sn->Usage("nope").status(), StatusCode::kNotFound,
        "snapshot nope does not exist: not found");
  fails(sn->Remove("nope"), StatusCode::kNotFound, "snapshot nope does not exist: not found");
  fails(sn->Commit("c", "nope", {}), StatusCode::kNotFound,
        "snapshot nope does not exist: not found");
  fails(sn->Update(Info{.name = "nope"}, {}).status(), StatusCode::kNotFound,
        "snapshot nope does not exist: not found");
  fails(sn->Update(Info{}, {}).status(), StatusCode::kInvalidArgument, "invalid argument");
  fails(sn->Prepare("a", "nope", {}).status(), StatusCode::kNotFound,
        "parent snapshot nope does not exist: not found");

  ASSERT_TRUE(sn->Prepare("a", "", {}).ok());
  fails(sn->Prepare("a", "", {}).status(), StatusCode::kAlreadyExists,
        "snapshot \"a\": already exists");
  fails(sn->View("a", "", {}).status(), StatusCode::kAlreadyExists,
        "snapshot \"a\": already exists");
  // The backend's refusal, as containerd passes it on.
  EXPECT_EQ(sn->Prepare("b", "a", {}).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(sn->Commit("c", "a", {}).ok());
  EXPECT_EQ(sn->Mounts("c").status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(sn->Prepare("a2", "c", {}).ok());
  fails(sn->Commit("c", "a2", {}), StatusCode::kAlreadyExists, "snapshot \"c\": already exists");
  fails(sn->Remove("c"), StatusCode::kFailedPrecondition,
        "cannot remove snapshot with child: failed precondition");
  fails(sn->Update(Info{.name = "c"}, std::vector<std::string>{"parent"}).status(),
        StatusCode::kInvalidArgument,
        "cannot update \"parent\" field on snapshot \"c\": invalid argument");

  // A view cannot be committed, and a failed commit leaves no trace of the name.
  ASSERT_TRUE(sn->View("v", "c", {}).ok());
  EXPECT_EQ(sn->Commit("from-view", "v", {}).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("from-view").status()));
  EXPECT_EQ(sn->Stat("v")->kind, Kind::kView);

  // Oversized labels are refused before anything is created.
  Labels big = {{"big", std::string(5000, 'x')}};
  EXPECT_TRUE(absl::StartsWith(sn->Prepare("big", "", big).status().message(), "info.Labels: "));
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("big").status()));
  EXPECT_EQ(sn->Commit("big", "a2", big).code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(sn->Prepare("", "", {}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      sn->Walk([](const Info&) { return absl::OkStatus(); }, std::vector<std::string>{"name=="})
          .code(),
      StatusCode::kInvalidArgument);

  auto unknown = store_->View("zfs", "errors", std::nullopt);
  fails(unknown.status(), StatusCode::kInvalidArgument,
        "snapshotter not loaded: zfs: invalid argument");
  fails(store_->View("", "errors", std::nullopt).status(), StatusCode::kInvalidArgument,
        "snapshotter argument missing: invalid argument");
}

TEST_P(SnapshotStoreTest, TargetReferenceThatExistsIsAlreadyExists) {
  // containerd's unpacker prepares with the layer's chain id as target and treats
  // AlreadyExists as "already unpacked".
  auto sn = In("target");
  ASSERT_TRUE(sn->Prepare("extract-1", "", {}).ok());
  ASSERT_TRUE(sn->Commit("sha256:chain", "extract-1", {}).ok());
  auto st = sn->Prepare("extract-2", "", {{snapshots::kLabelSnapshotRef, "sha256:chain"}});
  EXPECT_EQ(st.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(st.status().message(), "target snapshot \"sha256:chain\": already exists");
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("extract-2").status()));
  // Another namespace does not have it: the target is per namespace.
  EXPECT_TRUE(In("other")->Prepare("x", "", {{snapshots::kLabelSnapshotRef, "sha256:chain"}}).ok());
}

TEST_P(SnapshotStoreTest, OnlyInheritedLabelsReachTheBackend) {
  auto sn = In("labels");
  const Labels labels = {
      {"containerd.io/snapshot/remote", "yes"}, {"containerd.io/gc.root", "now"}, {"empty", ""}};
  ASSERT_TRUE(sn->Prepare("a", "", labels).ok());
  std::vector<std::string> raw = Names(backend());
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_EQ(backend().Stat(raw[0])->labels, (Labels{{"containerd.io/snapshot/remote", "yes"}}));
  EXPECT_EQ(sn->Stat("a")->labels,
            (Labels{{"containerd.io/snapshot/remote", "yes"}, {"containerd.io/gc.root", "now"}}));

  // labels.<k> sets one label (removes it when absent), an empty mask replaces all; the backend
  // follows for inherited labels.
  Info change{.name = "a", .labels = {{"x", "1"}}};
  auto updated =
      sn->Update(change, std::vector<std::string>{"labels.x", "labels.containerd.io/gc.root"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels, (Labels{{"containerd.io/snapshot/remote", "yes"}, {"x", "1"}}));
  EXPECT_GT(updated->updated, updated->created);
  EXPECT_EQ(updated->kind, Kind::kActive);
  updated = sn->Update(Info{.name = "a", .labels = {{"y", "2"}}}, {});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels, (Labels{{"y", "2"}}));
  EXPECT_TRUE(backend().Stat(raw[0])->labels.empty());
  EXPECT_EQ(sn->Stat("a")->labels, (Labels{{"y", "2"}}));
}

TEST_P(SnapshotStoreTest, LeaseRecordsFollowTheSnapshot) {
  ASSERT_TRUE(meta_->leases().Create("leased", "l1", {}).ok());
  auto sn = In("leased", "l1");
  const std::string type = absl::StrCat("snapshots/", GetParam());
  ASSERT_TRUE(sn->Prepare("k", "", {}).ok());
  EXPECT_EQ(*meta_->leases().ListResources("leased", "l1"),
            (std::vector<LeaseResource>{{.id = "k", .type = type}}));
  ASSERT_TRUE(sn->Commit("n", "k", {}).ok());
  EXPECT_EQ(*meta_->leases().ListResources("leased", "l1"),
            (std::vector<LeaseResource>{{.id = "n", .type = type}}));
  ASSERT_TRUE(sn->View("v", "n", {}).ok());
  EXPECT_EQ(meta_->leases().ListResources("leased", "l1")->size(), 2u);
  ASSERT_TRUE(sn->Remove("v").ok());
  ASSERT_TRUE(sn->Remove("n").ok());
  EXPECT_TRUE(meta_->leases().ListResources("leased", "l1")->empty());

  // An unknown lease fails before the backend does any work.
  auto bad = In("leased", "nope");
  auto st = bad->Prepare("k2", "", {});
  EXPECT_EQ(st.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(st.status().message(), "lease does not exist: not found");
  EXPECT_TRUE(Names(backend()).empty());
  ASSERT_TRUE(In("leased")->Prepare("k3", "", {}).ok());
  EXPECT_EQ(bad->Commit("n3", "k3", {}).code(), StatusCode::kNotFound);
  EXPECT_TRUE(In("leased")->Stat("k3").ok());
}

TEST_P(SnapshotStoreTest, NamespacesAreCreatedAndKeptWhileTheyHoldSnapshots) {
  ASSERT_TRUE(In("implicit")->Prepare("a", "", {}).ok());
  auto list = meta_->namespaces().List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "implicit");
  absl::Status st = meta_->namespaces().Delete("implicit");
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), absl::StrCat("namespace \"implicit\" must be empty, but it still has "
                                       "snapshots on \"",
                                       GetParam(), "\" snapshotter: failed precondition"));
  ASSERT_TRUE(In("implicit")->Remove("a").ok());
  EXPECT_TRUE(meta_->namespaces().Delete("implicit").ok());
}

TEST_P(SnapshotStoreTest, WalkReadsInBatchesInKeyOrder) {
  auto sn = In("many");
  std::vector<std::string> want;
  for (int i = 0; i < 230; ++i) {
    std::string key = absl::StrCat("k", 1000 + i);
    ASSERT_TRUE(sn->Prepare(key, "", {{"even", i % 2 == 0 ? "yes" : "no"}}).ok());
    want.push_back(key);
  }
  EXPECT_EQ(Names(*sn), want);
  EXPECT_EQ(Names(*sn, {"labels.even==yes"}).size(), 115u);
  // Removing while walking (containerd's clients do): the walk carries on.
  int seen = 0;
  ASSERT_TRUE(sn->Walk(
                    [&](const Info& info) {
                      ++seen;
                      return sn->Remove(info.name);
                    },
                    {})
                  .ok());
  EXPECT_EQ(seen, 230);
  EXPECT_TRUE(Names(*sn).empty());
}

TEST_P(SnapshotStoreTest, UsageOfActiveAndCommitted) {
  auto sn = In("usage");
  auto mounts = sn->Prepare("a", "", {});
  ASSERT_TRUE(mounts.ok());
  ASSERT_TRUE(
      sys::WriteFile(BindSource(*mounts) + "/data", std::string(64 * 1024, 'x'), 0644).ok());
  auto active = sn->Usage("a");
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_GE(active->size, 64 * 1024);
  EXPECT_GE(active->inodes, 2);
  ASSERT_TRUE(sn->Commit("c", "a", {}).ok());
  EXPECT_EQ(*sn->Usage("c"), *active);
}

// What an interrupted call leaves, and Cleanup's repair of it.
TEST_P(SnapshotStoreTest, CleanupRemovesOrphansAndDanglingRecords) {
  auto sn = In("crash");
  ASSERT_TRUE(sn->Prepare("a", "", {}).ok());
  ASSERT_TRUE(sn->Commit("base", "a", {}).ok());
  ASSERT_TRUE(sn->Prepare("live", "base", {}).ok());

  // Prepare interrupted before its row was written: a backend snapshot nobody refers to, with
  // an orphan child of its own.
  ASSERT_TRUE(backend().Prepare("crash/900/lost", "", {}).ok());
  ASSERT_TRUE(backend().Commit("crash/901/lost-c", "crash/900/lost", {}).ok());
  ASSERT_TRUE(backend().View("crash/902/lost-v", "crash/901/lost-c", {}).ok());
  // Commit interrupted after the backend committed: the active row points at nothing.
  ASSERT_TRUE(sn->Prepare("k", "", {}).ok());
  std::string k_backend;
  for (const std::string& name : Names(backend())) {
    if (absl::EndsWith(name, "/k")) k_backend = name;
  }
  ASSERT_FALSE(k_backend.empty());
  ASSERT_TRUE(backend().Commit("crash/903/n", k_backend, {}).ok());
  ASSERT_TRUE(Exec("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, kind, "
                   "created_at, updated_at) VALUES('crash', '" +
                   GetParam() + "', 'n', 'crash/903/n', 3, 1, 1)")
                  .ok());
  // Commit interrupted before the backend committed: the name's row points at nothing.
  ASSERT_TRUE(sn->Prepare("k2", "", {}).ok());
  ASSERT_TRUE(Exec("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, kind, "
                   "created_at, updated_at) VALUES('crash', '" +
                   GetParam() + "', 'n2', 'crash/904/n2', 3, 1, 1)")
                  .ok());

  // Until the repair, dangling rows are invisible to Walk and NotFound to Stat.
  EXPECT_EQ(Names(*sn), (std::vector<std::string>{"base", "k2", "live", "n"}));
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("k").status()));
  EXPECT_TRUE(absl::IsNotFound(sn->Stat("n2").status()));

  ASSERT_TRUE(store_->Cleanup(GetParam()).ok());
  EXPECT_EQ(Names(*sn), (std::vector<std::string>{"base", "k2", "live", "n"}));
  EXPECT_EQ(Names(backend()).size(), 4u) << "only what rows refer to is left";
  EXPECT_TRUE(absl::IsNotFound(sn->Remove("k"))) << "the dangling row is gone";
  // The interrupted commit can be retried.
  ASSERT_TRUE(sn->Commit("n2", "k2", {}).ok());
  EXPECT_EQ(sn->Stat("n2")->kind, Kind::kCommitted);
  ASSERT_TRUE(sn->Cleanup().ok()) << "idempotent";
  EXPECT_EQ(Names(backend()).size(), 4u);
}

TEST_P(SnapshotStoreTest, ConcurrentPreparesOfOneKeyLeaveOneSnapshot) {
  auto sn = In("race");
  std::atomic<int> ok = 0, exists = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      absl::Status st = sn->Prepare("contested", "", {}).status();
      if (st.ok()) ++ok;
      if (absl::IsAlreadyExists(st)) ++exists;
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(exists, 5);
  EXPECT_EQ(Names(backend()).size(), 1u) << "losers removed what they created";
}

TEST_P(SnapshotStoreTest, ConcurrentCommitsRemovesAndCleanups) {
  auto sn = In("busy");
  ASSERT_TRUE(sn->Prepare("base-a", "", {}).ok());
  ASSERT_TRUE(sn->Commit("base", "base-a", {}).ok());
  std::atomic<bool> done = false;
  std::atomic<int> failures = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto mine = In("busy");
      for (int i = 0; i < 10; ++i) {
        const std::string n = absl::StrCat("t", t, "-", i);
        if (!mine->Prepare(n + "-a", "base", {}).ok()) ++failures;
        // Everyone races for the same name too: exactly one commit of it may win.
        absl::Status shared = mine->Commit(absl::StrCat("shared-", i), n + "-a", {});
        if (shared.ok()) continue;
        if (!absl::IsAlreadyExists(shared)) ++failures;
        if (!mine->Commit(n, n + "-a", {}).ok()) ++failures;
        if (!mine->Remove(n).ok()) ++failures;
      }
    });
  }
  std::thread cleaner([&] {
    while (!done) {
      if (!store_->Cleanup(GetParam()).ok()) ++failures;
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  cleaner.join();
  EXPECT_EQ(failures, 0);
  std::vector<std::string> names = Names(*sn);
  EXPECT_EQ(names.size(), 11u) << "base and shared-0..9";
  EXPECT_EQ(Names(backend()).size(), 11u);
}

}  // namespace
}  // namespace berth::metadata
