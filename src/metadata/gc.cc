#include "metadata/gc.h"

#include <deque>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/labels.h"
#include "base/log.h"
#include "base/status.h"

namespace berth::metadata {
namespace {

// What a node of the reference graph is. Leases are not nodes: they cannot be referenced, so
// their resources are emitted as roots directly (as containerd does).
enum class Kind : char { kContent = 'c', kSnapshot = 's', kIngest = 'i' };

// One object in one namespace. A snapshot's key is "<snapshotter>/<key>". A flat node is held
// without its gc.ref labels being followed (a lease with containerd.io/gc.flat).
struct Node {
  Kind kind;
  bool flat = false;
  std::string ns;
  std::string key;
};

// The identity of an object for the marked set: flat or not, it is the same object.
std::string MarkKey(Kind kind, absl::string_view ns, absl::string_view key) {
  return absl::StrCat(absl::string_view(reinterpret_cast<const char*>(&kind), 1), ns,
                      absl::string_view("\0", 1), key);
}

// Whether stored labels (JSON) may hold a gc label at all: most rows have none, and are not parsed.
bool MayHoldGcLabels(absl::string_view json) {
  return absl::StrContains(json, "containerd.io/gc.");
}

// The tricolor mark: `gray_` holds nodes seen but not yet scanned for references; `seen_`
// everything ever pushed (flat and non-flat apart, since a non-flat visit follows more edges);
// `marked_` the reachable objects.
class Marker {
 public:
  explicit Marker(sqlite::Tx& tx) : tx_(tx) {}

  absl::Status Roots(absl::Time now) {
    const int64_t now_ns = absl::ToUnixNanos(now);
    // Leases that have not expired, and whether each holds its resources flat.
    std::unordered_map<std::string, bool> live_leases;  // MarkKey-like "ns\0id" -> flat
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, id, labels FROM leases "
                                   "WHERE expires_at IS NULL OR expires_at > ?1"));
      stmt.Bind(1, now_ns);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        bool flat = false;
        std::string json = stmt.Text(2);
        if (MayHoldGcLabels(json)) {
          ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(json));
          flat = labels.contains(kLabelGcFlat);
        }
        live_leases.emplace(absl::StrCat(stmt.Text(0), absl::string_view("\0", 1), stmt.Text(1)),
                            flat);
      }
    }
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, lease, type, id FROM lease_resources"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        std::string ns = stmt.Text(0);
        auto lease = live_leases.find(absl::StrCat(ns, absl::string_view("\0", 1), stmt.Text(1)));
        if (lease == live_leases.end()) continue;  // expired: swept below
        const bool flat = lease->second;
        std::string type = stmt.Text(2);
        std::string id = stmt.Text(3);
        if (type == "content") {
          Push({Kind::kContent, flat, std::move(ns), std::move(id)});
        } else if (type == "ingests") {
          Push({Kind::kIngest, false, std::move(ns), std::move(id)});
        } else if (absl::StartsWith(type, "snapshots/")) {
          Push({Kind::kSnapshot, flat, std::move(ns),
                absl::StrCat(absl::string_view(type).substr(10), "/", id)});
        }
      }
    }
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, target_digest, labels FROM images"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        std::string ns = stmt.Text(0);
        Push({Kind::kContent, false, ns, stmt.Text(1)});
        RETURN_IF_ERROR(PushLabelRefs(ns, stmt.Text(2)));
      }
    }
    {
      // Ingests written without a lease carry an expiry; until then they are their own root.
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, ref FROM content_ingests "
                                   "WHERE expires_at IS NOT NULL AND expires_at > ?1"));
      stmt.Bind(1, now_ns);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        Push({Kind::kIngest, false, stmt.Text(0), stmt.Text(1)});
      }
    }
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, snapshotter, snapshot_key, labels "
                                   "FROM containers"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        std::string ns = stmt.Text(0);
        std::string snapshotter = stmt.Text(1);
        if (!snapshotter.empty()) {
          Push({Kind::kSnapshot, false, ns, absl::StrCat(snapshotter, "/", stmt.Text(2))});
        }
        RETURN_IF_ERROR(PushLabelRefs(ns, stmt.Text(3)));
      }
    }
    // Objects labelled containerd.io/gc.root. The LIKE only narrows the scan; the parsed labels
    // decide.
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, digest, labels FROM content_blobs "
                                   "WHERE labels LIKE '%\"containerd.io/gc.root\"%'"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(stmt.Text(2)));
        if (labels.contains(kLabelGcRoot))
          Push({Kind::kContent, false, stmt.Text(0), stmt.Text(1)});
      }
    }
    {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx_.Prepare("SELECT namespace, snapshotter, key, labels FROM snapshots "
                                   "WHERE labels LIKE '%\"containerd.io/gc.root\"%'"));
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(stmt.Text(3)));
        if (labels.contains(kLabelGcRoot)) {
          Push({Kind::kSnapshot, false, stmt.Text(0),
                absl::StrCat(stmt.Text(1), "/", stmt.Text(2))});
        }
      }
    }
    return absl::OkStatus();
  }

  // Scans gray nodes until none is left.
  absl::Status Drain() {
    while (!gray_.empty()) {
      Node node = std::move(gray_.back());
      gray_.pop_back();
      RETURN_IF_ERROR(References(node));
      marked_.insert(MarkKey(node.kind, node.ns, node.key));
    }
    return absl::OkStatus();
  }

  bool Marked(Kind kind, absl::string_view ns, absl::string_view key) const {
    return marked_.contains(MarkKey(kind, ns, key));
  }
  size_t marked_count() const { return marked_.size(); }

 private:
  void Push(Node node) {
    std::string seen = MarkKey(node.kind, node.ns, node.key);
    seen.push_back(node.flat ? 'f' : 'n');
    if (seen_.insert(std::move(seen)).second) gray_.push_back(std::move(node));
  }

  // The gc.ref labels in `json`: containerd.io/gc.ref.content, or that followed by '.' or '/'
  // and any name, is a digest; containerd.io/gc.ref.snapshot.<snapshotter>[/<name>] a key.
  absl::Status PushLabelRefs(const std::string& ns, const std::string& json) {
    if (!MayHoldGcLabels(json)) return absl::OkStatus();
    ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(json));
    const absl::string_view content_prefix = kLabelGcRefContent;
    for (auto it = labels.lower_bound(kLabelGcRefContent);
         it != labels.end() && absl::StartsWith(it->first, content_prefix); ++it) {
      if (it->first.size() > content_prefix.size()) {
        char sep = it->first[content_prefix.size()];
        if (sep != '.' && sep != '/') continue;
      }
      Push({Kind::kContent, false, ns, it->second});
    }
    const absl::string_view snapshot_prefix = kLabelGcRefSnapshot;
    for (auto it = labels.lower_bound(kLabelGcRefSnapshot);
         it != labels.end() && absl::StartsWith(it->first, snapshot_prefix); ++it) {
      absl::string_view snapshotter = absl::string_view(it->first).substr(snapshot_prefix.size());
      snapshotter = snapshotter.substr(0, snapshotter.find('/'));
      if (snapshotter.empty()) continue;
      Push({Kind::kSnapshot, false, ns, absl::StrCat(snapshotter, "/", it->second)});
    }
    return absl::OkStatus();
  }

  absl::Status References(const Node& node) {
    switch (node.kind) {
      case Kind::kContent: {
        if (node.flat) return absl::OkStatus();
        std::optional<std::string> labels;
        {
          ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx_.Prepare("SELECT labels FROM content_blobs "
                                                          "WHERE namespace = ?1 AND digest = ?2"));
          stmt.Bind(1, node.ns).Bind(2, node.key);
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (row) labels = stmt.Text(0);
        }
        // No row: a dead edge (a label naming a blob this namespace does not hold).
        if (labels) RETURN_IF_ERROR(PushLabelRefs(node.ns, *labels));
        return absl::OkStatus();
      }
      case Kind::kSnapshot: {
        size_t slash = node.key.find('/');
        if (slash == std::string::npos) return absl::OkStatus();
        std::string snapshotter = node.key.substr(0, slash);
        std::optional<std::pair<std::string, std::string>> row_values;  // parent, labels
        {
          ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                           tx_.Prepare("SELECT parent, labels FROM snapshots WHERE namespace = ?1 "
                                       "AND snapshotter = ?2 AND key = ?3"));
          stmt.Bind(1, node.ns).Bind(2, snapshotter).Bind(3, node.key.substr(slash + 1));
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (row) row_values.emplace(stmt.Text(0), stmt.Text(1));
        }
        if (!row_values) return absl::OkStatus();
        if (!row_values->first.empty()) {
          Push({Kind::kSnapshot, node.flat, node.ns,
                absl::StrCat(snapshotter, "/", row_values->first)});
        }
        if (node.flat) return absl::OkStatus();
        return PushLabelRefs(node.ns, row_values->second);
      }
      case Kind::kIngest: {
        std::optional<std::string> expected;
        {
          ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx_.Prepare("SELECT expected FROM content_ingests "
                                                          "WHERE namespace = ?1 AND ref = ?2"));
          stmt.Bind(1, node.ns).Bind(2, node.key);
          ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (row && !stmt.IsNull(0)) expected = stmt.Text(0);
        }
        if (expected) Push({Kind::kContent, false, node.ns, *std::move(expected)});
        return absl::OkStatus();
      }
    }
    return absl::OkStatus();
  }

  sqlite::Tx& tx_;
  std::vector<Node> gray_;
  std::unordered_set<std::string> seen_;
  std::unordered_set<std::string> marked_;
};

// Deletes the rows listed by `select_sql` (the primary key's `columns` columns, namespace first)
// whose object is not marked, with `delete_sql` (the same columns as parameters). Returns how
// many went.
absl::StatusOr<int64_t> SweepTable(sqlite::Tx& tx, const Marker& marker, Kind kind,
                                   const char* select_sql, const char* delete_sql, int columns) {
  std::vector<std::vector<std::string>> doomed;
  {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(select_sql));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      std::vector<std::string> key;
      for (int i = 0; i < columns; ++i) key.push_back(stmt.Text(i));
      // Snapshots are marked as "<snapshotter>/<key>".
      std::string object = columns == 3 ? absl::StrCat(key[1], "/", key[2]) : key[1];
      if (!marker.Marked(kind, key[0], object)) doomed.push_back(std::move(key));
    }
  }
  for (const auto& key : doomed) {
    ASSIGN_OR_RETURN(sqlite::Stmt del, tx.Prepare(delete_sql));
    for (int i = 0; i < columns; ++i) del.Bind(i + 1, key[i]);
    RETURN_IF_ERROR(del.Exec());
    log::Debug("gc: removed record",
               {{"kind", absl::string_view(reinterpret_cast<const char*>(&kind), 1)},
                {"namespace", key[0]},
                {"key", columns == 3 ? absl::StrCat(key[1], "/", key[2]) : key[1]}});
  }
  return static_cast<int64_t>(doomed.size());
}

// Mark and sweep, inside one write transaction.
absl::Status MarkAndSweep(sqlite::Tx& tx, absl::Time now, GcStats& stats) {
  absl::Time start = absl::Now();
  Marker marker(tx);
  RETURN_IF_ERROR(marker.Roots(now));
  RETURN_IF_ERROR(marker.Drain());
  absl::Time marked = absl::Now();
  stats.mark = marked - start;

  {
    // Expired leases stop holding anything (their resources go with them: ON DELETE CASCADE).
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("DELETE FROM leases WHERE expires_at IS NOT NULL AND "
                                "expires_at <= ?1"));
    RETURN_IF_ERROR(stmt.Bind(1, absl::ToUnixNanos(now)).Exec());
    stats.leases = tx.Changes();
  }
  ASSIGN_OR_RETURN(
      stats.content_rows,
      SweepTable(tx, marker, Kind::kContent, "SELECT namespace, digest FROM content_blobs",
                 "DELETE FROM content_blobs WHERE namespace = ?1 AND digest = ?2", 2));
  ASSIGN_OR_RETURN(
      stats.ingest_rows,
      SweepTable(tx, marker, Kind::kIngest, "SELECT namespace, ref FROM content_ingests",
                 "DELETE FROM content_ingests WHERE namespace = ?1 AND ref = ?2", 2));
  ASSIGN_OR_RETURN(
      stats.snapshot_rows,
      SweepTable(tx, marker, Kind::kSnapshot, "SELECT namespace, snapshotter, key FROM snapshots",
                 "DELETE FROM snapshots WHERE namespace = ?1 AND snapshotter = ?2 "
                 "AND key = ?3",
                 3));
  stats.sweep = absl::Now() - marked;
  return absl::OkStatus();
}

// Runs `query` in a read transaction with `value` as ?1 (and `value2` as ?2 unless empty):
// whether it returns a row.
absl::StatusOr<bool> HasRow(sqlite::Database& db, const char* query, absl::string_view value,
                            absl::string_view value2 = {}) {
  bool found = false;
  RETURN_IF_ERROR(db.Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(query));
    stmt.Bind(1, value);
    if (!value2.empty()) stmt.Bind(2, value2);
    ASSIGN_OR_RETURN(found, stmt.Step());
    return absl::OkStatus();
  }));
  return found;
}

// Keeps the first error of a pass while letting the pass go on with the other objects.
void KeepFirst(absl::Status& first, absl::Status st) {
  if (first.ok()) first = std::move(st);
}
void Keep(absl::Status& first, absl::Status st) {
  if (!st.ok()) log::Warn("gc: removing from a backend failed", {{"error", st.ToString()}});
  KeepFirst(first, std::move(st));
}

absl::Status CollectContent(sqlite::Database& db, content::Store& store, absl::Mutex* guard,
                            GcStats& stats) {
  // What any namespace references now. Objects outside this set are re-checked one by one before
  // removal: the set is only a fast path for the common case.
  std::unordered_set<std::string> digests;
  std::unordered_set<std::string> refs;  // backend refs of ingests
  RETURN_IF_ERROR(db.Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt blobs, tx.Prepare("SELECT DISTINCT digest FROM content_blobs"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, blobs.Step());
      if (!row) break;
      digests.insert(blobs.Text(0));
    }
    ASSIGN_OR_RETURN(sqlite::Stmt ingests,
                     tx.Prepare("SELECT backend, expected FROM content_ingests"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, ingests.Step());
      if (!row) break;
      refs.insert(ingests.Text(0));
      if (!ingests.IsNull(1)) digests.insert(ingests.Text(1));
    }
    return absl::OkStatus();
  }));

  std::vector<std::pair<Digest, int64_t>> candidates;
  RETURN_IF_ERROR(store.Walk(
      [&](const content::Info& info) -> absl::Status {
        if (!digests.contains(info.digest.str())) candidates.emplace_back(info.digest, info.size);
        return absl::OkStatus();
      },
      {}));
  absl::Status first;
  for (const auto& [digest, size] : candidates) {
    // One blob per hold of the guard: a content writer waits for at most one unlink (which can
    // take milliseconds on a file system that discards on unlink).
    absl::MutexLockMaybe lock(guard);
    absl::StatusOr<bool> used =
        HasRow(db,
               "SELECT 1 FROM content_blobs WHERE digest = ?1 "
               "UNION ALL SELECT 1 FROM content_ingests WHERE expected = ?1",
               digest.str());
    if (!used.ok()) {
      Keep(first, used.status());
      continue;
    }
    if (*used) continue;  // recorded meanwhile
    absl::Status st = store.Delete(digest);
    if (absl::IsNotFound(st)) continue;  // removed meanwhile
    if (!st.ok()) {
      Keep(first, st);
      continue;
    }
    log::Debug("gc: removed blob", {{"digest", digest.str()}});
    ++stats.blobs;
    stats.bytes += size;
  }

  ASSIGN_OR_RETURN(std::vector<content::Status> ingests, store.ListStatuses({}));
  for (const content::Status& ingest : ingests) {
    if (refs.contains(ingest.ref)) continue;
    absl::MutexLockMaybe lock(guard);
    absl::StatusOr<bool> used =
        HasRow(db, "SELECT 1 FROM content_ingests WHERE backend = ?1", ingest.ref);
    if (!used.ok()) {
      Keep(first, used.status());
      continue;
    }
    if (*used) continue;
    absl::Status st = store.Abort(ingest.ref);
    if (absl::IsNotFound(st)) continue;
    if (!st.ok()) {
      Keep(first, st);
      continue;
    }
    log::Debug("gc: aborted ingest", {{"ref", ingest.ref}});
    ++stats.ingests;
  }
  return first;
}

// Removes the snapshots of `snapshotter` that no row names, leaves first: a parent is removed
// only once none of its children is left (Remove refuses a parent with FailedPrecondition).
absl::Status CollectSnapshots(sqlite::Database& db, const std::string& name,
                              snapshots::Snapshotter& snapshotter, GcStats& stats) {
  std::unordered_set<std::string> keep;
  RETURN_IF_ERROR(db.Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("SELECT backend_key FROM snapshots WHERE snapshotter = ?1"));
    stmt.Bind(1, name);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      keep.insert(stmt.Text(0));
    }
  }));

  std::unordered_map<std::string, std::string> parent_of;  // every backend snapshot
  std::unordered_map<std::string, int> children;
  RETURN_IF_ERROR(snapshotter.Walk(
      [&](const snapshots::Info& info) -> absl::Status {
        parent_of[info.name] = info.parent;
        if (!info.parent.empty()) ++children[info.parent];
        return absl::OkStatus();
      },
      {}));

  std::deque<std::string> ready;
  for (const auto& [key, parent] : parent_of) {
    if (!keep.contains(key) && children[key] == 0) ready.push_back(key);
  }
  absl::Status first;
  while (!ready.empty()) {
    std::string key = std::move(ready.front());
    ready.pop_front();
    absl::StatusOr<bool> used = HasRow(
        db, "SELECT 1 FROM snapshots WHERE snapshotter = ?1 AND backend_key = ?2", name, key);
    if (!used.ok()) {
      Keep(first, used.status());
      continue;
    }
    if (*used) continue;  // recorded meanwhile: it and its parents stay
    absl::Status st = snapshotter.Remove(key);
    if (absl::IsFailedPrecondition(st)) continue;  // a child appeared meanwhile
    if (!st.ok() && !absl::IsNotFound(st)) {
      Keep(first, st);
      continue;
    }
    if (st.ok()) {
      log::Debug("gc: removed snapshot", {{"snapshotter", name}, {"key", key}});
      ++stats.snapshots;
    }
    const std::string& parent = parent_of[key];
    if (!parent.empty() && --children[parent] == 0 && !keep.contains(parent) &&
        parent_of.contains(parent)) {
      ready.push_back(parent);
    }
  }
  absl::Status cleanup = snapshotter.Cleanup();
  if (!absl::IsUnimplemented(cleanup)) Keep(first, cleanup);
  return first;
}

}  // namespace

absl::StatusOr<GcStats> GarbageCollect(sqlite::Database& db, const GcBackends& backends,
                                       absl::Time now) {
  GcStats stats;
  RETURN_IF_ERROR(Annotate(db.Write([&](sqlite::Tx& tx) { return MarkAndSweep(tx, now, stats); }),
                           "gc mark and sweep"));

  absl::Status first;
  if (backends.content != nullptr) {
    absl::Time start = absl::Now();
    KeepFirst(first, Annotate(CollectContent(db, *backends.content, backends.content_guard, stats),
                              "gc content"));
    stats.content = absl::Now() - start;
  }
  absl::Time start = absl::Now();
  for (const auto& [name, snapshotter] : backends.snapshotters) {
    if (snapshotter == nullptr) continue;
    absl::Status st = backends.snapshot_cleanup ? backends.snapshot_cleanup(name)
                                                : CollectSnapshots(db, name, *snapshotter, stats);
    KeepFirst(first, Annotate(st, absl::StrCat("gc snapshotter ", name)));
  }
  stats.snapshotters = absl::Now() - start;
  if (!first.ok()) return first;
  return stats;
}

}  // namespace berth::metadata
