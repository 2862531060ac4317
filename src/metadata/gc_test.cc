#include "metadata/gc.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "content/digester.h"
#include "content/local_store.h"
#include "metadata/content.h"
#include "metadata/namespaces.h"
#include "metadata/test_util.h"
#include "snapshots/native/native.h"

namespace berth::metadata {
namespace {

constexpr char kRefConfig[] = "containerd.io/gc.ref.content.config";
constexpr char kRefLayer0[] = "containerd.io/gc.ref.content.l.0";
constexpr char kRefLayer1[] = "containerd.io/gc.ref.content.l.1";
constexpr char kRefManifest[] = "containerd.io/gc.ref.content.m.0";

std::string Sha(absl::string_view data) { return content::Digester::FromBytes(data).str(); }

// A metadata store, a local blob store and a native snapshotter in one temp dir, wired like the
// daemon wires them.
class GcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = content::LocalStore::Open(absl::StrCat(store_.dir(), "/content"));
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    content_ = std::make_unique<ContentStore>(&store_->db(), backend_.get());
    auto native = snapshots::NativeSnapshotter::Open(absl::StrCat(store_.dir(), "/native"));
    ASSERT_TRUE(native.ok()) << native.status();
    native_ = *std::move(native);
  }
  void TearDown() override {
    if (native_) {
      EXPECT_TRUE(native_->Close().ok());
    }
  }

  GcBackends Backends() {
    return GcBackends{.content = backend_.get(),
                      .content_guard = &content_->gc_guard(),
                      .snapshotters = {{"native", native_.get()}}};
  }
  GcStats Collect(absl::Time now = absl::Now()) {
    auto stats = GarbageCollect(store_->db(), Backends(), now);
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.ok() ? *stats : GcStats{};
  }

  // Commits `data` in `ns` (under `lease` if given) with `labels`; returns its digest.
  std::string Write(const std::string& ns, const std::string& data, const Labels& labels = {},
                    std::optional<std::string> lease = std::nullopt) {
    auto view = content_->View(ns, std::move(lease));
    auto w = view->Writer(absl::StrCat("ref-", Sha(data)), 0, std::nullopt);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return "";
    EXPECT_TRUE((*w)->Write(data).ok());
    absl::Status st = (*w)->Commit(0, std::nullopt, labels);
    EXPECT_TRUE(st.ok()) << st;
    return Sha(data);
  }
  bool InNamespace(const std::string& ns, const std::string& digest) {
    return content_->View(ns, std::nullopt)->Info(*Digest::Parse(digest)).ok();
  }
  bool OnDisk(const std::string& digest) {
    return access(backend_->BlobPath(*Digest::Parse(digest)).c_str(), F_OK) == 0;
  }
  void CreateLease(const std::string& ns, const std::string& id, const Labels& labels = {}) {
    auto lease = store_->leases().Create(ns, id, labels);
    ASSERT_TRUE(lease.ok()) << lease.status();
  }
  void CreateImage(const std::string& ns, const std::string& name, const std::string& target) {
    Image image{
        .name = name,
        .target = {
            .media_type = "application/vnd.oci.image.index.v1+json", .digest = target, .size = 1}};
    auto created = store_->images().Create(ns, image);
    ASSERT_TRUE(created.ok()) << created.status();
  }
  // Records namespace `ns`'s snapshot `key` as the snapshots store does, backed by `backend_key`.
  void AddSnapshotRow(const std::string& ns, const std::string& key, const std::string& backend_key,
                      const std::string& parent, const Labels& labels = {}) {
    absl::Status st = store_->db().Write([&](sqlite::Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(EnsureNamespace(tx, ns));
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, "
                                  "parent, kind, labels, created_at, updated_at) "
                                  "VALUES(?1, 'native', ?2, ?3, ?4, 3, ?5, 0, 0)"));
      return stmt.Bind(1, ns)
          .Bind(2, key)
          .Bind(3, backend_key)
          .Bind(4, parent)
          .Bind(5, LabelsToJson(labels))
          .Exec();
    });
    ASSERT_TRUE(st.ok()) << st;
  }
  bool HasSnapshotRow(const std::string& ns, const std::string& key) {
    bool found = false;
    absl::Status st = store_->db().Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("SELECT 1 FROM snapshots WHERE namespace = ?1 AND key = ?2"));
      ASSIGN_OR_RETURN(found, stmt.Bind(1, ns).Bind(2, key).Step());
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    return found;
  }
  // A committed backend snapshot `name` on top of `parent`.
  void BackendCommitted(const std::string& name, const std::string& parent) {
    ASSERT_TRUE(native_->Prepare(name + "-active", parent, {}).ok());
    ASSERT_TRUE(native_->Commit(name, name + "-active", {}).ok());
  }
  bool InBackend(const std::string& key) { return native_->Stat(key).ok(); }

  TempStore store_;
  std::unique_ptr<content::LocalStore> backend_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<snapshots::NativeSnapshotter> native_;
};

// An image's tree as a pull leaves it: index -> manifest -> config + layers, held by gc.ref
// labels on the parents.
struct ImageTree {
  std::string config, layer0, layer1, manifest, index;
};

class GcImageTest : public GcTest {
 protected:
  ImageTree Tree(const std::string& ns, const std::string& tag,
                 std::optional<std::string> lease = std::nullopt) {
    ImageTree t;
    t.config = Write(ns, "config " + tag, {}, lease);
    t.layer0 = Write(ns, "layer0 " + tag, {}, lease);
    t.layer1 = Write(ns, "layer1 " + tag, {}, lease);
    t.manifest =
        Write(ns, "manifest " + tag,
              {{kRefConfig, t.config}, {kRefLayer0, t.layer0}, {kRefLayer1, t.layer1}}, lease);
    t.index = Write(ns, "index " + tag, {{kRefManifest, t.manifest}}, lease);
    return t;
  }
};

TEST_F(GcImageTest, ImageKeepsItsTreeUntilDeleted) {
  CreateLease("ns", "pull");
  ImageTree t = Tree("ns", "a", "pull");
  std::string stray = Write("ns", "not referenced by anything");
  CreateImage("ns", "docker.io/library/a:latest", t.index);
  ASSERT_TRUE(store_->leases().Delete("ns", "pull").ok());

  GcStats stats = Collect();
  EXPECT_EQ(stats.content_rows, 1);
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_EQ(stats.bytes, static_cast<int64_t>(std::string("not referenced by anything").size()));
  EXPECT_FALSE(InNamespace("ns", stray));
  EXPECT_FALSE(OnDisk(stray));
  for (const std::string& d : {t.config, t.layer0, t.layer1, t.manifest, t.index}) {
    EXPECT_TRUE(InNamespace("ns", d)) << d;
    EXPECT_TRUE(OnDisk(d)) << d;
  }

  ASSERT_TRUE(store_->images().Delete("ns", "docker.io/library/a:latest").ok());
  stats = Collect();
  EXPECT_EQ(stats.content_rows, 5);
  EXPECT_EQ(stats.blobs, 5);
  for (const std::string& d : {t.config, t.layer0, t.layer1, t.manifest, t.index}) {
    EXPECT_FALSE(InNamespace("ns", d)) << d;
    EXPECT_FALSE(OnDisk(d)) << d;
  }
  EXPECT_GE(stats.mark, absl::ZeroDuration());
  EXPECT_EQ(Collect().blobs, 0);  // nothing left to do
}

TEST_F(GcImageTest, RefLabelsNeedTheirSeparator) {
  std::string target = Write("ns", "target");
  std::string other = Write("ns", "other");
  // "containerd.io/gc.ref.contentX" is not a reference; ".../gc.ref.content" alone is.
  std::string root = Write("ns", "root",
                           {{kLabelGcRoot, "1"},
                            {"containerd.io/gc.ref.contentX", other},
                            {"containerd.io/gc.ref.content", target}});
  Collect();
  EXPECT_TRUE(OnDisk(root));
  EXPECT_TRUE(OnDisk(target));
  EXPECT_FALSE(OnDisk(other));
}

TEST_F(GcImageTest, LeaseKeepsContentUntilDeleted) {
  CreateLease("ns", "l1");
  ImageTree t = Tree("ns", "b", "l1");
  EXPECT_EQ(Collect().blobs, 0);
  EXPECT_TRUE(OnDisk(t.layer1));
  ASSERT_TRUE(store_->leases().Delete("ns", "l1").ok());
  EXPECT_EQ(Collect().blobs, 5);
  EXPECT_FALSE(OnDisk(t.layer1));
}

TEST_F(GcImageTest, ExpiredLeaseIsDeletedAndReleasesContent) {
  absl::Time expiry = absl::Now() + absl::Hours(1);
  CreateLease("ns", "short",
              {{"containerd.io/gc.expire",
                absl::FormatTime(absl::RFC3339_full, expiry, absl::UTCTimeZone())}});
  std::string blob = Write("ns", "leased for an hour", {}, "short");
  GcStats stats = Collect();
  EXPECT_EQ(stats.leases, 0);
  EXPECT_TRUE(OnDisk(blob));

  stats = Collect(expiry + absl::Seconds(1));
  EXPECT_EQ(stats.leases, 1);
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_FALSE(OnDisk(blob));
  EXPECT_TRUE(absl::IsNotFound(store_->leases().Check("ns", "short")));
}

TEST_F(GcImageTest, FlatLeaseDoesNotFollowLabels) {
  CreateLease("ns", "flat", {{kLabelGcFlat, "1"}});
  ImageTree t = Tree("ns", "c");  // written without the lease
  ASSERT_TRUE(
      store_->leases().AddResource("ns", "flat", {.id = t.manifest, .type = "content"}).ok());
  Collect();
  EXPECT_TRUE(OnDisk(t.manifest));
  EXPECT_FALSE(OnDisk(t.config));
  EXPECT_FALSE(OnDisk(t.layer0));
  EXPECT_FALSE(OnDisk(t.index));

  CreateLease("ns", "deep");
  ImageTree u = Tree("ns", "d");
  ASSERT_TRUE(
      store_->leases().AddResource("ns", "deep", {.id = u.manifest, .type = "content"}).ok());
  Collect();
  EXPECT_TRUE(OnDisk(u.config));
  EXPECT_TRUE(OnDisk(u.layer1));
  EXPECT_FALSE(OnDisk(u.index));
}

TEST_F(GcImageTest, GcRootLabelKeepsContentAndItsReferences) {
  std::string config = Write("ns", "rooted config");
  std::string manifest = Write("ns", "rooted manifest",
                               {{kLabelGcRoot, "2026-01-01T00:00:00Z"}, {kRefConfig, config}});
  std::string loose = Write("ns", "loose");
  Collect();
  EXPECT_TRUE(OnDisk(manifest));
  EXPECT_TRUE(OnDisk(config));
  EXPECT_FALSE(OnDisk(loose));

  // Dropping the label releases both.
  content::Info info{.digest = *Digest::Parse(manifest), .labels = {{kRefConfig, config}}};
  std::vector<std::string> paths = {"labels"};
  ASSERT_TRUE(content_->View("ns", std::nullopt)->Update(info, paths).ok());
  EXPECT_EQ(Collect().blobs, 2);
}

TEST_F(GcImageTest, BlobSharedByTwoNamespacesStaysUntilBothDropIt) {
  CreateLease("a", "la");
  CreateLease("b", "lb");
  std::string d = Write("a", "shared bytes", {}, "la");
  EXPECT_EQ(Write("b", "shared bytes", {}, "lb"), d);

  ASSERT_TRUE(store_->leases().Delete("a", "la").ok());
  GcStats stats = Collect();
  EXPECT_EQ(stats.content_rows, 1);
  EXPECT_EQ(stats.blobs, 0);
  EXPECT_FALSE(InNamespace("a", d));
  EXPECT_TRUE(InNamespace("b", d));
  EXPECT_TRUE(OnDisk(d));

  ASSERT_TRUE(store_->leases().Delete("b", "lb").ok());
  stats = Collect();
  EXPECT_EQ(stats.blobs, 1);
  EXPECT_FALSE(OnDisk(d));
}

TEST_F(GcImageTest, ContentDeletedInOneNamespaceLeavesTheDiskOnlyWhenNoneHasIt) {
  std::string d = Write("a", "twice", {{kLabelGcRoot, "x"}});
  Write("b", "twice", {{kLabelGcRoot, "x"}});
  ASSERT_TRUE(content_->View("a", std::nullopt)->Delete(*Digest::Parse(d)).ok());
  EXPECT_EQ(Collect().blobs, 0);
  EXPECT_TRUE(OnDisk(d));
  ASSERT_TRUE(content_->View("b", std::nullopt)->Delete(*Digest::Parse(d)).ok());
  EXPECT_EQ(Collect().blobs, 1);
  EXPECT_FALSE(OnDisk(d));
}

TEST_F(GcTest, IngestWithoutLeaseExpires) {
  auto view = content_->View("ns", std::nullopt);
  auto w = view->Writer("half", 100, std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write("partial").ok());
  ASSERT_TRUE((*w)->Close().ok());
  w->reset();

  GcStats stats = Collect();
  EXPECT_EQ(stats.ingest_rows, 0);
  EXPECT_EQ(stats.ingests, 0);
  EXPECT_TRUE(view->Status("half").ok());

  // containerd's expiry for an ingest without a lease: 24 hours.
  stats = Collect(absl::Now() + absl::Hours(25));
  EXPECT_EQ(stats.ingest_rows, 1);
  EXPECT_EQ(stats.ingests, 1);
  EXPECT_TRUE(absl::IsNotFound(view->Status("half").status()));
  auto backend_ingests = backend_->ListStatuses({});
  ASSERT_TRUE(backend_ingests.ok());
  EXPECT_TRUE(backend_ingests->empty());
}

TEST_F(GcTest, LeasedIngestLivesWithItsLease) {
  CreateLease("ns", "l");
  auto view = content_->View("ns", "l");
  auto w = view->Writer("leased", 0, std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write("data").ok());
  ASSERT_TRUE((*w)->Close().ok());
  w->reset();
  // No expiry: far in the future it is still held by the lease.
  EXPECT_EQ(Collect(absl::Now() + absl::Hours(100)).ingests, 0);
  EXPECT_TRUE(view->Status("leased").ok());
  ASSERT_TRUE(store_->leases().Delete("ns", "l").ok());
  GcStats stats = Collect();
  EXPECT_EQ(stats.ingest_rows, 1);
  EXPECT_EQ(stats.ingests, 1);
}

TEST_F(GcTest, BackendIngestWithoutRowIsAborted) {
  // What a crash between the backend and the metadata leaves.
  auto w = backend_->Writer("ns/orphan", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("x").ok());
  ASSERT_TRUE((*w)->Close().ok());
  w->reset();
  EXPECT_EQ(Collect().ingests, 1);
  EXPECT_TRUE(absl::IsNotFound(backend_->Status("ns/orphan").status()));
}

TEST_F(GcTest, BlobExpectedByAnIngestIsKept) {
  // Namespace a drops the blob while namespace b is writing it "shared" (no bytes sent).
  std::string d = Write("a", "expected bytes", {{kLabelGcRoot, "x"}});
  auto view_b = content_->View("b", std::nullopt);
  auto w = view_b->Writer("b-ref", 0, *Digest::Parse(d));
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(content_->View("a", std::nullopt)->Delete(*Digest::Parse(d)).ok());
  EXPECT_EQ(Collect().blobs, 0);
  EXPECT_TRUE(OnDisk(d));
  ASSERT_TRUE((*w)->Commit(0, *Digest::Parse(d), {{kLabelGcRoot, "x"}}).ok());
  EXPECT_TRUE(InNamespace("b", d));
  EXPECT_EQ(Collect().blobs, 0);
  EXPECT_TRUE(OnDisk(d));
}

TEST_F(GcTest, RemovalIsRecheckedUnderTheGuard) {
  // A writer holds the guard between its backend commit and its row: GC must wait, then see the
  // row and keep the blob although it was a candidate when GC walked the backend.
  std::string data = "committed while collecting";
  std::string d = Sha(data);
  {
    auto w = backend_->Writer("direct", 0, std::nullopt);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data).ok());
    ASSERT_TRUE((*w)->Commit(0, std::nullopt).ok());
  }
  content_->gc_guard().ReaderLock();
  absl::StatusOr<GcStats> stats;
  std::thread gc([&] { stats = GarbageCollect(store_->db(), Backends()); });
  absl::SleepFor(absl::Milliseconds(200));  // GC is now waiting for the guard
  absl::Status st = store_->db().Write([&](sqlite::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(EnsureNamespace(tx, "ns"));
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("INSERT INTO content_blobs(namespace, digest, size, labels, "
                                "created_at, updated_at) VALUES('ns', ?1, ?2, "
                                "'{\"containerd.io/gc.root\":\"x\"}', 0, 0)"));
    return stmt.Bind(1, d).Bind(2, static_cast<int64_t>(data.size())).Exec();
  });
  content_->gc_guard().ReaderUnlock();
  gc.join();
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->blobs, 0);
  EXPECT_TRUE(OnDisk(d));
}

TEST_F(GcTest, SnapshotChainKeptByContainerThenRemovedLeafFirst) {
  BackendCommitted("ns/1/base", "");
  ASSERT_TRUE(native_->Prepare("ns/2/rw", "ns/1/base", {}).ok());
  AddSnapshotRow("ns", "base", "ns/1/base", "");
  AddSnapshotRow("ns", "rw", "ns/2/rw", "base");
  Container c{.id = "c1",
              .runtime = {.name = "io.containerd.runc.v2"},
              .spec = Any{.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Spec",
                          .value = "{}"},
              .snapshotter = "native",
              .snapshot_key = "rw"};
  ASSERT_TRUE(store_->containers().Create("ns", c).ok());

  GcStats stats = Collect();
  EXPECT_EQ(stats.snapshot_rows, 0);
  EXPECT_EQ(stats.snapshots, 0);
  EXPECT_TRUE(HasSnapshotRow("ns", "base"));  // the parent of the container's snapshot
  EXPECT_TRUE(InBackend("ns/1/base"));
  EXPECT_TRUE(InBackend("ns/2/rw"));

  ASSERT_TRUE(store_->containers().Delete("ns", "c1").ok());
  stats = Collect();
  EXPECT_EQ(stats.snapshot_rows, 2);
  EXPECT_EQ(stats.snapshots, 2);  // the child first, else the parent's Remove would fail
  EXPECT_FALSE(HasSnapshotRow("ns", "rw"));
  EXPECT_FALSE(InBackend("ns/2/rw"));
  EXPECT_FALSE(InBackend("ns/1/base"));
}

TEST_F(GcTest, OrphanedBackendSnapshotsAreRemovedLeafFirst) {
  // A chain of three no row refers to (a crash), beside a recorded chain that must stay.
  BackendCommitted("o/1", "");
  BackendCommitted("o/2", "o/1");
  ASSERT_TRUE(native_->Prepare("o/3", "o/2", {}).ok());
  ASSERT_TRUE(native_->View("o/4", "o/1", {}).ok());
  BackendCommitted("k/1", "");
  BackendCommitted("k/2", "k/1");
  AddSnapshotRow("ns", "kept", "k/2", "", {{kLabelGcRoot, "x"}});
  // k/1 has no row either, but its child is kept: it cannot go.
  GcStats stats = Collect();
  EXPECT_EQ(stats.snapshots, 4);
  for (const char* key : {"o/1", "o/2", "o/3", "o/4"}) EXPECT_FALSE(InBackend(key)) << key;
  EXPECT_TRUE(InBackend("k/1"));
  EXPECT_TRUE(InBackend("k/2"));
  EXPECT_TRUE(HasSnapshotRow("ns", "kept"));
}

TEST_F(GcTest, SnapshotReferencesAcrossKinds) {
  // A snapshot labelled with a content ref keeps the blob; a leased blob's snapshot ref keeps the
  // snapshot (and its parent); a lease's snapshot resource keeps that snapshot.
  std::string blob = Write("ns", "referenced by a snapshot");
  BackendCommitted("ns/1/p", "");
  BackendCommitted("ns/2/s", "ns/1/p");
  AddSnapshotRow("ns", "p", "ns/1/p", "");
  AddSnapshotRow("ns", "s", "ns/2/s", "p", {{"containerd.io/gc.ref.content.x", blob}});
  CreateLease("ns", "l");
  std::string holder =
      Write("ns", "holder", {{"containerd.io/gc.ref.snapshot.native/0", "s"}}, "l");
  BackendCommitted("ns/3/leased", "");
  AddSnapshotRow("ns", "leased", "ns/3/leased", "");
  ASSERT_TRUE(
      store_->leases().AddResource("ns", "l", {.id = "leased", .type = "snapshots/native"}).ok());
  BackendCommitted("ns/4/loose", "");
  AddSnapshotRow("ns", "loose", "ns/4/loose", "");

  GcStats stats = Collect();
  EXPECT_EQ(stats.snapshot_rows, 1);
  EXPECT_EQ(stats.snapshots, 1);
  EXPECT_FALSE(InBackend("ns/4/loose"));
  for (const char* key : {"ns/1/p", "ns/2/s", "ns/3/leased"}) EXPECT_TRUE(InBackend(key)) << key;
  EXPECT_TRUE(OnDisk(blob));
  EXPECT_TRUE(OnDisk(holder));

  ASSERT_TRUE(store_->leases().Delete("ns", "l").ok());
  stats = Collect();
  EXPECT_EQ(stats.snapshots, 3);
  EXPECT_EQ(stats.blobs, 2);
}

TEST_F(GcTest, SnapshotCleanupHookReplacesOwnRemoval) {
  BackendCommitted("o/1", "");
  std::vector<std::string> cleaned;
  GcBackends backends = Backends();
  backends.snapshot_cleanup = [&](const std::string& name) {
    cleaned.push_back(name);
    return absl::OkStatus();
  };
  auto stats = GarbageCollect(store_->db(), backends);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(cleaned, std::vector<std::string>{"native"});
  EXPECT_TRUE(InBackend("o/1"));  // the hook decides
}

}  // namespace
}  // namespace berth::metadata
