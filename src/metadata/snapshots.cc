#include "metadata/snapshots.h"

#include <cstring>
#include <functional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/filters.h"
#include "base/labels.h"
#include "base/log.h"
#include "base/status.h"
#include "metadata/leases.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

using snapshots::Info;
using snapshots::Kind;

// containerd's Walk reads rows in batches so that no transaction is held while `fn` runs.
constexpr int kWalkBatch = 100;

// One row of `snapshots`.
struct Row {
  std::string key;
  std::string backend_key;
  std::string parent;
  Kind kind = Kind::kUnknown;
  Labels labels;
  absl::Time created;
  absl::Time updated;
};

constexpr absl::string_view kColumns =
    "key, backend_key, parent, kind, labels, created_at, updated_at";

absl::Status SnapshotNotFound(absl::string_view key) {
  return ErrNotFound(absl::StrCat("snapshot ", key, " does not exist"));
}

absl::StatusOr<Row> ReadRow(const sqlite::Stmt& stmt) {
  Row row{.key = stmt.Text(0),
          .backend_key = stmt.Text(1),
          .parent = stmt.Text(2),
          .kind = static_cast<Kind>(stmt.Int(3))};
  ASSIGN_OR_RETURN(row.labels, LabelsFromJson(stmt.Text(4)));
  row.created = absl::FromUnixNanos(stmt.Int(5));
  row.updated = absl::FromUnixNanos(stmt.Int(6));
  return row;
}

absl::StatusOr<std::optional<Row>> FindRow(sqlite::Tx& tx, absl::string_view ns,
                                           absl::string_view sn, absl::string_view key) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                           " FROM snapshots WHERE "
                                           "namespace = ?1 AND snapshotter = ?2 AND key = ?3")));
  stmt.Bind(1, ns).Bind(2, sn).Bind(3, key);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return std::nullopt;
  return ReadRow(stmt);
}

absl::Status InsertRow(sqlite::Tx& tx, absl::string_view ns, absl::string_view sn, const Row& row) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("INSERT INTO snapshots(namespace, snapshotter, key, backend_key, "
                              "parent, kind, labels, created_at, updated_at) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  return stmt.Bind(1, ns)
      .Bind(2, sn)
      .Bind(3, row.key)
      .Bind(4, row.backend_key)
      .Bind(5, row.parent)
      .Bind(6, static_cast<int64_t>(row.kind))
      .Bind(7, LabelsToJson(row.labels))
      .Bind(8, absl::ToUnixNanos(row.created))
      .Bind(9, absl::ToUnixNanos(row.updated))
      .Exec();
}

absl::Status DeleteRow(sqlite::Tx& tx, absl::string_view ns, absl::string_view sn,
                       absl::string_view key) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("DELETE FROM snapshots WHERE namespace = ?1 AND "
                                                 "snapshotter = ?2 AND key = ?3"));
  return stmt.Bind(1, ns).Bind(2, sn).Bind(3, key).Exec();
}

absl::StatusOr<bool> HasChildRows(sqlite::Tx& tx, absl::string_view ns, absl::string_view sn,
                                  absl::string_view key) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("SELECT 1 FROM snapshots WHERE namespace = ?1 AND snapshotter = ?2 "
                              "AND parent = ?3 LIMIT 1"));
  stmt.Bind(1, ns).Bind(2, sn).Bind(3, key);
  return stmt.Step();
}

// The next backend key sequence number; persisted, so never handed out twice.
absl::StatusOr<int64_t> NextSequence(sqlite::Tx& tx) {
  ASSIGN_OR_RETURN(sqlite::Stmt sel,
                   tx.Prepare("SELECT value FROM meta WHERE key = 'snapshot_sequence'"));
  ASSIGN_OR_RETURN(bool found, sel.Step());
  int64_t seq = 0;
  if (found && !absl::SimpleAtoi(sel.Text(0), &seq)) {
    return absl::DataLossError(absl::StrCat("metadata: bad snapshot_sequence ", sel.Text(0)));
  }
  ++seq;
  ASSIGN_OR_RETURN(sqlite::Stmt up, tx.Prepare("INSERT OR REPLACE INTO meta(key, value) "
                                               "VALUES('snapshot_sequence', ?1)"));
  RETURN_IF_ERROR(up.Bind(1, absl::StrCat(seq)).Exec());
  return seq;
}

// containerd's createKey.
std::string BackendKey(int64_t seq, absl::string_view ns, absl::string_view key) {
  return absl::StrCat(ns, "/", seq, "/", key);
}

// Fails as AddToLease would, without recording anything: lets a call fail before work that
// would have to be undone.
absl::Status CheckLease(sqlite::Tx& tx, absl::string_view ns,
                        const std::optional<std::string>& lease) {
  if (!lease) return absl::OkStatus();
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("SELECT 1 FROM leases WHERE namespace = ?1 AND id = ?2"));
  stmt.Bind(1, ns).Bind(2, *lease);
  ASSIGN_OR_RETURN(bool found, stmt.Step());
  if (!found) return ErrNotFound("lease does not exist");
  return absl::OkStatus();
}

absl::Status ValidateSnapshotLabels(const Labels& labels) {
  return Annotate(ValidateLabels(labels), "info.Labels");
}

// containerd's overlayInfo: the backend's info (kind, labels it adds) under the metadata's name,
// parent, times and labels.
Info Overlay(Info backend, const Row& row) {
  backend.name = row.key;
  backend.parent = row.parent;
  backend.created = row.created;
  backend.updated = row.updated;
  for (const auto& [k, v] : row.labels) backend.labels[k] = v;
  return backend;
}

class NamespacedSnapshotter : public snapshots::Snapshotter {
 public:
  NamespacedSnapshotter(sqlite::Database* db, SnapshotStore* store, SnapshotStore::Backend* b,
                        std::string ns, std::optional<std::string> lease)
      : db_(db),
        store_(store),
        b_(b),
        ns_(std::move(ns)),
        lease_(std::move(lease)),
        resource_(absl::StrCat("snapshots/", b->name)) {}

  absl::StatusOr<Info> Stat(const std::string& key) override {
    ASSIGN_OR_RETURN(Row row, Get(key));
    ASSIGN_OR_RETURN(Info info, b_->sn->Stat(row.backend_key));
    return Overlay(std::move(info), row);
  }

  absl::StatusOr<Info> Update(const Info& info, std::span<const std::string> fieldpaths) override {
    if (info.name.empty()) return absl::InvalidArgumentError("invalid argument");
    Row row;
    Info backend;
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<Row> found, FindRow(tx, ns_, b_->name, info.name));
      if (!found) return SnapshotNotFound(info.name);
      row = *std::move(found);
      if (fieldpaths.empty()) row.labels = info.labels;
      for (const std::string& path : fieldpaths) {
        if (absl::StartsWith(path, "labels.")) {
          ApplyLabelPath(row.labels, path.substr(strlen("labels.")), info.labels);
        } else if (path == "labels") {
          row.labels = info.labels;
        } else {
          return ErrInvalidArgument(
              absl::StrCat("cannot update \"", path, "\" field on snapshot \"", info.name, "\""));
        }
      }
      row.labels = WithoutEmptyValues(row.labels);
      RETURN_IF_ERROR(ValidateSnapshotLabels(row.labels));
      row.updated = absl::Now();
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("UPDATE snapshots SET labels = ?4, updated_at = ?5 WHERE "
                                  "namespace = ?1 AND snapshotter = ?2 AND key = ?3"));
      RETURN_IF_ERROR(stmt.Bind(1, ns_)
                          .Bind(2, b_->name)
                          .Bind(3, row.key)
                          .Bind(4, LabelsToJson(row.labels))
                          .Bind(5, absl::ToUnixNanos(row.updated))
                          .Exec());
      // Inside the transaction, as containerd does: if the backend refuses, nothing changed.
      Info inner{.name = row.backend_key, .labels = snapshots::FilterInheritedLabels(row.labels)};
      ASSIGN_OR_RETURN(backend, b_->sn->Update(inner, fieldpaths));
      return absl::OkStatus();
    }));
    return Overlay(std::move(backend), row);
  }

  absl::StatusOr<snapshots::Usage> Usage(const std::string& key) override {
    ASSIGN_OR_RETURN(Row row, Get(key));
    return b_->sn->Usage(row.backend_key);
  }

  absl::StatusOr<std::vector<sys::Mount>> Mounts(const std::string& key) override {
    ASSIGN_OR_RETURN(Row row, Get(key));
    return b_->sn->Mounts(row.backend_key);
  }

  absl::StatusOr<std::vector<sys::Mount>> Prepare(const std::string& key, const std::string& parent,
                                                  const Labels& labels) override {
    return Create(Kind::kActive, key, parent, labels);
  }

  absl::StatusOr<std::vector<sys::Mount>> View(const std::string& key, const std::string& parent,
                                               const Labels& labels) override {
    return Create(Kind::kView, key, parent, labels);
  }

  absl::Status Commit(const std::string& name, const std::string& key,
                      const Labels& labels_in) override {
    if (name.empty()) return ErrInvalidArgument("snapshot name must not be empty");
    const Labels labels = WithoutEmptyValues(labels_in);
    RETURN_IF_ERROR(ValidateSnapshotLabels(labels));
    // Held throughout: no other call may create `name` or touch `key` while the backend commits.
    absl::MutexLock lock(&b_->mu);
    Row active;
    Row committed{.key = name, .kind = Kind::kCommitted, .labels = labels};
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(std::optional<Row> existing, FindRow(tx, ns_, b_->name, name));
      if (existing) return ErrAlreadyExists(absl::StrCat("snapshot \"", name, "\""));
      RETURN_IF_ERROR(AddToLease(tx, ns_, lease_, resource_, name));
      ASSIGN_OR_RETURN(std::optional<Row> found, FindRow(tx, ns_, b_->name, key));
      if (!found) return SnapshotNotFound(key);
      active = *std::move(found);
      ASSIGN_OR_RETURN(int64_t seq, NextSequence(tx));
      committed.backend_key = BackendKey(seq, ns_, name);
      committed.parent = active.parent;
      committed.created = committed.updated = absl::Now();
      return InsertRow(tx, ns_, b_->name, committed);
    }));
    absl::Status st = b_->sn->Commit(committed.backend_key, active.backend_key,
                                     snapshots::FilterInheritedLabels(labels));
    if (!st.ok()) {
      absl::Status undo = db_->Write([&](sqlite::Tx& tx) -> absl::Status {
        RETURN_IF_ERROR(DeleteRow(tx, ns_, b_->name, name));
        return RemoveFromLease(tx, ns_, lease_, resource_, name);
      });
      if (!undo.ok()) {
        log::Error("snapshot commit failed and its record stays until cleanup",
                   {{"snapshotter", b_->name}, {"name", name}, {"error", undo.ToString()}});
      }
      return st;
    }
    absl::Status done = db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(DeleteRow(tx, ns_, b_->name, key));
      return RemoveFromLease(tx, ns_, lease_, resource_, key);
    });
    if (!done.ok()) {
      // The commit happened; `key`'s row now points at nothing and Cleanup will drop it.
      log::Error("snapshot committed but its active record stays until cleanup",
                 {{"snapshotter", b_->name}, {"key", key}, {"error", done.ToString()}});
    }
    return absl::OkStatus();
  }

  absl::Status Remove(const std::string& key) override {
    std::string backend_key;
    {
      absl::MutexLock lock(&b_->mu);
      for (const auto& [bkey, pending] : b_->pending) {
        if (pending.ns == ns_ && pending.parent == key) {
          return ErrFailedPrecondition("cannot remove snapshot with child");
        }
      }
      RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<Row> row, FindRow(tx, ns_, b_->name, key));
        if (!row) return SnapshotNotFound(key);
        ASSIGN_OR_RETURN(bool children, HasChildRows(tx, ns_, b_->name, key));
        if (children) return ErrFailedPrecondition("cannot remove snapshot with child");
        backend_key = row->backend_key;
        RETURN_IF_ERROR(DeleteRow(tx, ns_, b_->name, key));
        return RemoveFromLease(tx, ns_, lease_, resource_, key);
      }));
    }
    // No row refers to the backend snapshot any more: whatever happens now, it is an orphan at
    // worst, which Cleanup removes. The caller's snapshot is gone either way.
    absl::Status st = b_->sn->Remove(backend_key);
    if (!st.ok() && !absl::IsNotFound(st)) {
      log::Warn("snapshot removed; its backend snapshot is left for cleanup",
                {{"snapshotter", b_->name}, {"key", backend_key}, {"error", st.ToString()}});
    }
    return absl::OkStatus();
  }

  absl::Status Walk(const snapshots::WalkFn& fn, std::span<const std::string> fs) override {
    ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(fs));
    std::string last;
    for (;;) {
      std::vector<Row> rows;
      RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                         tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                                 " FROM snapshots WHERE "
                                                 "namespace = ?1 AND snapshotter = ?2 AND "
                                                 "key > ?3 ORDER BY key LIMIT ?4")));
        stmt.Bind(1, ns_).Bind(2, b_->name).Bind(3, last).Bind(4, int64_t{kWalkBatch});
        for (;;) {
          ASSIGN_OR_RETURN(bool more, stmt.Step());
          if (!more) return absl::OkStatus();
          ASSIGN_OR_RETURN(Row row, ReadRow(stmt));
          rows.push_back(std::move(row));
        }
      }));
      for (const Row& row : rows) {
        absl::StatusOr<Info> info = b_->sn->Stat(row.backend_key);
        if (absl::IsNotFound(info.status())) continue;  // dangling (see the header)
        if (!info.ok()) return info.status();
        Info merged = Overlay(*std::move(info), row);
        if (snapshots::MatchInfo(filter, merged)) RETURN_IF_ERROR(fn(merged));
      }
      if (rows.size() < static_cast<size_t>(kWalkBatch)) return absl::OkStatus();
      last = rows.back().key;
    }
  }

  absl::Status Cleanup() override { return store_->Cleanup(b_->name); }

  absl::Status Close() override { return absl::OkStatus(); }

 private:
  absl::StatusOr<Row> Get(const std::string& key) {
    std::optional<Row> row;
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(row, FindRow(tx, ns_, b_->name, key));
      return absl::OkStatus();
    }));
    if (!row) return SnapshotNotFound(key);
    return *std::move(row);
  }

  absl::StatusOr<std::vector<sys::Mount>> Create(Kind kind, const std::string& key,
                                                 const std::string& parent,
                                                 const Labels& labels_in) {
    if (key.empty()) return ErrInvalidArgument("snapshot key must not be empty");
    const Labels labels = WithoutEmptyValues(labels_in);
    RETURN_IF_ERROR(ValidateSnapshotLabels(labels));
    auto target_it = labels.find(snapshots::kLabelSnapshotRef);
    const std::string target = target_it == labels.end() ? "" : target_it->second;

    // 1. Check and allocate the backend key; from here until the row exists, the backend
    //    snapshot is "pending" (neither an orphan to Cleanup nor invisible to Remove).
    std::string bkey, bparent;
    {
      absl::MutexLock lock(&b_->mu);
      RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
        if (!target.empty()) {
          ASSIGN_OR_RETURN(std::optional<Row> t, FindRow(tx, ns_, b_->name, target));
          if (t) return ErrAlreadyExists(absl::StrCat("target snapshot \"", target, "\""));
        }
        ASSIGN_OR_RETURN(std::optional<Row> existing, FindRow(tx, ns_, b_->name, key));
        if (existing) return ErrAlreadyExists(absl::StrCat("snapshot \"", key, "\""));
        if (!parent.empty()) {
          ASSIGN_OR_RETURN(std::optional<Row> p, FindRow(tx, ns_, b_->name, parent));
          if (!p) {
            return ErrNotFound(absl::StrCat("parent snapshot ", parent, " does not exist"));
          }
          bparent = p->backend_key;
        }
        RETURN_IF_ERROR(CheckLease(tx, ns_, lease_));
        ASSIGN_OR_RETURN(int64_t seq, NextSequence(tx));
        bkey = BackendKey(seq, ns_, key);
        return absl::OkStatus();
      }));
      b_->pending[bkey] = {.ns = ns_, .parent = parent};
    }

    // 2. The backend's work, outside any lock (a native snapshot copies its parent).
    const Labels inherited = snapshots::FilterInheritedLabels(labels);
    absl::StatusOr<std::vector<sys::Mount>> mounts =
        kind == Kind::kView ? b_->sn->View(bkey, bparent, inherited)
                            : b_->sn->Prepare(bkey, bparent, inherited);
    if (!mounts.ok()) {
      absl::MutexLock lock(&b_->mu);
      b_->pending.erase(bkey);
      if (absl::IsAlreadyExists(mounts.status())) {
        // The key is fresh: only a snapshotter resolving targets itself could say this.
        return absl::UnknownError(
            absl::StrCat("unexpected error from snapshotter: ", mounts.status().message()));
      }
      return mounts.status();
    }

    // 3. Record it, checking again what may have changed meanwhile.
    absl::Status recorded;
    {
      absl::MutexLock lock(&b_->mu);
      b_->pending.erase(bkey);
      recorded = db_->Write([&](sqlite::Tx& tx) -> absl::Status {
        RETURN_IF_ERROR(EnsureNamespace(tx, ns_));
        RETURN_IF_ERROR(AddToLease(tx, ns_, lease_, resource_, key));
        ASSIGN_OR_RETURN(std::optional<Row> existing, FindRow(tx, ns_, b_->name, key));
        if (existing) return ErrAlreadyExists(absl::StrCat("snapshot \"", key, "\""));
        if (!parent.empty()) {
          ASSIGN_OR_RETURN(std::optional<Row> p, FindRow(tx, ns_, b_->name, parent));
          if (!p) {
            return ErrNotFound(absl::StrCat("parent snapshot ", parent, " does not exist"));
          }
          if (p->backend_key != bparent) {
            return ErrInvalidArgument(
                absl::StrCat("mismatched parent ", parent, " from target ", target));
          }
        }
        const absl::Time now = absl::Now();
        return InsertRow(tx, ns_, b_->name,
                         Row{.key = key,
                             .backend_key = bkey,
                             .parent = parent,
                             .kind = kind,
                             .labels = labels,
                             .created = now,
                             .updated = now});
      });
    }
    if (!recorded.ok()) {
      absl::Status st = b_->sn->Remove(bkey);
      if (!st.ok() && !absl::IsNotFound(st)) {  // NotFound: a concurrent Cleanup was first
        log::Warn("failed to clean up unreferenced snapshot",
                  {{"snapshotter", b_->name}, {"key", bkey}, {"error", st.ToString()}});
      }
      return recorded;
    }
    return mounts;
  }

  sqlite::Database* const db_;
  SnapshotStore* const store_;
  SnapshotStore::Backend* const b_;
  const std::string ns_;
  const std::optional<std::string> lease_;
  const std::string resource_;  // the lease resource type, "snapshots/<snapshotter>"
};

}  // namespace

SnapshotStore::SnapshotStore(sqlite::Database* db,
                             const std::map<std::string, snapshots::Snapshotter*>& backends)
    : db_(db), backends_(backends) {
  for (const auto& [name, sn] : backends_) {
    auto b = std::make_unique<Backend>();
    b->name = name;
    b->sn = sn;
    states_.emplace(name, std::move(b));
  }
}

SnapshotStore::~SnapshotStore() = default;

absl::StatusOr<SnapshotStore::Backend*> SnapshotStore::Find(absl::string_view snapshotter) {
  if (snapshotter.empty()) return ErrInvalidArgument("snapshotter argument missing");
  auto it = states_.find(snapshotter);
  if (it == states_.end()) {
    return ErrInvalidArgument(absl::StrCat("snapshotter not loaded: ", snapshotter));
  }
  return it->second.get();
}

absl::StatusOr<std::unique_ptr<snapshots::Snapshotter>> SnapshotStore::View(
    absl::string_view snapshotter, std::string ns, std::optional<std::string> lease) {
  ASSIGN_OR_RETURN(Backend * b, Find(snapshotter));
  return std::make_unique<NamespacedSnapshotter>(db_, this, b, std::move(ns), std::move(lease));
}

absl::Status SnapshotStore::Cleanup(absl::string_view snapshotter) {
  ASSIGN_OR_RETURN(Backend * b, Find(snapshotter));
  {
    absl::MutexLock lock(&b->mu);
    // What the rows refer to, in every namespace.
    struct Ref {
      std::string ns, key;
      bool has_children = false;
    };
    std::map<std::string, Ref> referenced;  // by backend key
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("SELECT s.namespace, s.key, s.backend_key, EXISTS(SELECT 1 FROM "
                                  "snapshots c WHERE c.namespace = s.namespace AND "
                                  "c.snapshotter = s.snapshotter AND c.parent = s.key) "
                                  "FROM snapshots s WHERE s.snapshotter = ?1"));
      stmt.Bind(1, b->name);
      for (;;) {
        ASSIGN_OR_RETURN(bool more, stmt.Step());
        if (!more) return absl::OkStatus();
        referenced[stmt.Text(2)] =
            Ref{.ns = stmt.Text(0), .key = stmt.Text(1), .has_children = stmt.Int(3) != 0};
      }
    }));

    // The backend's tree; orphans are removed children first.
    struct Node {
      std::string parent;
      std::vector<std::string> children;
    };
    std::map<std::string, Node> nodes;
    RETURN_IF_ERROR(b->sn->Walk(
        [&](const Info& info) -> absl::Status {
          nodes[info.name].parent = info.parent;
          if (!info.parent.empty()) nodes[info.parent].children.push_back(info.name);
          return absl::OkStatus();
        },
        {}));
    // Stable while mu is held: Prepare registers and drops pending keys under it.
    std::set<std::string> pending;
    for (const auto& [bkey, p] : b->pending) pending.insert(bkey);
    std::function<void(const std::string&)> prune = [&](const std::string& bkey) {
      for (const std::string& child : nodes.at(bkey).children) prune(child);
      if (referenced.contains(bkey) || pending.contains(bkey)) return;
      absl::Status st = b->sn->Remove(bkey);
      if (st.ok()) {
        log::Info("removed orphaned snapshot", {{"snapshotter", b->name}, {"key", bkey}});
      } else if (!absl::IsNotFound(st)) {
        // Typically a child that is still referenced: keep it, as containerd's GC does.
        log::Warn("failed to remove orphaned snapshot",
                  {{"snapshotter", b->name}, {"key", bkey}, {"error", st.ToString()}});
      }
    };
    std::vector<std::string> roots;
    for (const auto& [bkey, node] : nodes) {
      if (node.parent.empty() || !nodes.contains(node.parent)) roots.push_back(bkey);
    }
    for (const std::string& root : roots) prune(root);

    // Rows whose backend snapshot is gone (an interrupted Commit): nothing can use them.
    // (Named references, not a structured binding: clang 14 cannot capture those in a lambda.)
    for (const auto& entry : referenced) {
      const auto& bkey = entry.first;
      const auto& ref = entry.second;
      if (nodes.contains(bkey) || ref.has_children) continue;
      RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
        ASSIGN_OR_RETURN(std::optional<Row> row, FindRow(tx, ref.ns, b->name, ref.key));
        if (!row || row->backend_key != bkey) return absl::OkStatus();
        log::Info("removed dangling snapshot record",
                  {{"snapshotter", b->name}, {"namespace", ref.ns}, {"key", ref.key}});
        return DeleteRow(tx, ref.ns, b->name, ref.key);
      }));
    }
  }
  return b->sn->Cleanup();
}

}  // namespace berth::metadata
