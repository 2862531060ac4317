#include "snapshots/storage.h"

#include <cstring>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth::snapshots::storage {
namespace {

constexpr const char* kMigrations[] = {
    // 1: snapshots.
    R"sql(
CREATE TABLE snapshots (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  key        TEXT NOT NULL UNIQUE,
  kind       INTEGER NOT NULL,
  parent     INTEGER REFERENCES snapshots(id),
  labels     TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  size       INTEGER NOT NULL DEFAULT 0,
  inodes     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_by_parent ON snapshots(parent);
)sql",
};

constexpr char kSelect[] =
    "SELECT s.id, s.key, s.kind, p.key, s.labels, s.created_at, s.updated_at, s.size, s.inodes "
    "FROM snapshots s LEFT JOIN snapshots p ON p.id = s.parent ";

// Ids are ours (rowids printed in decimal); they name the snapshot directories.
int64_t IdNumber(const std::string& id) {
  int64_t n = 0;
  return absl::SimpleAtoi(id, &n) ? n : -1;
}

absl::StatusOr<Record> ReadRow(const sqlite::Stmt& stmt) {
  Record r;
  r.id = absl::StrCat(stmt.Int(0));
  r.info.name = stmt.Text(1);
  r.info.kind = static_cast<Kind>(stmt.Int(2));
  r.info.parent = stmt.IsNull(3) ? "" : stmt.Text(3);
  ASSIGN_OR_RETURN(r.info.labels, LabelsFromJson(stmt.Text(4)));
  r.info.created = absl::FromUnixNanos(stmt.Int(5));
  r.info.updated = absl::FromUnixNanos(stmt.Int(6));
  r.usage = {.size = stmt.Int(7), .inodes = stmt.Int(8)};
  return r;
}

absl::StatusOr<std::optional<Record>> Find(sqlite::Tx& tx, const std::string& key) {
  static const std::string sql = absl::StrCat(kSelect, "WHERE s.key = ?1");
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
  stmt.Bind(1, key);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<Record>();
  ASSIGN_OR_RETURN(Record r, ReadRow(stmt));
  return std::optional<Record>(std::move(r));
}

// The ids from `id` up to the root of its chain, `id` first.
absl::StatusOr<std::vector<std::string>> Chain(sqlite::Tx& tx, const std::string& id) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("WITH RECURSIVE chain(id, parent, depth) AS ("
                              "  SELECT id, parent, 0 FROM snapshots WHERE id = ?1"
                              "  UNION ALL"
                              "  SELECT s.id, s.parent, c.depth + 1 FROM snapshots s"
                              "  JOIN chain c ON s.id = c.parent)"
                              "SELECT id FROM chain ORDER BY depth"));
  stmt.Bind(1, IdNumber(id));
  std::vector<std::string> ids;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(absl::StrCat(stmt.Int(0)));
  }
  return ids;
}

absl::Status WriteLabels(sqlite::Tx& tx, const std::string& id, const Labels& labels,
                         absl::Time updated) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("UPDATE snapshots SET labels = ?2, updated_at = ?3 WHERE id = ?1"));
  return stmt.Bind(1, IdNumber(id))
      .Bind(2, LabelsToJson(labels))
      .Bind(3, absl::ToUnixNanos(updated))
      .Exec();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetaStore>> MetaStore::Open(const std::string& path,
                                                           const char* name) {
  ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Database> db,
                   sqlite::Database::Open(path, sqlite::Schema{name, kMigrations}));
  return std::unique_ptr<MetaStore>(new MetaStore(std::move(db)));
}

absl::Status MetaStore::Read(const std::function<absl::Status(sqlite::Tx&)>& fn) {
  absl::ReaderMutexLock lock(&mu_);
  if (db_ == nullptr) return ErrFailedPrecondition("snapshotter is closed");
  return db_->Read(fn);
}

absl::Status MetaStore::Write(const std::function<absl::Status(sqlite::Tx&)>& fn) {
  absl::ReaderMutexLock lock(&mu_);
  if (db_ == nullptr) return ErrFailedPrecondition("snapshotter is closed");
  return db_->Write(fn);
}

void MetaStore::Close() {
  absl::MutexLock lock(&mu_);
  db_.reset();
}

absl::StatusOr<Record> GetInfo(sqlite::Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Record> r, Find(tx, key));
  if (!r) return ErrNotFound(absl::StrCat("snapshot ", key, " does not exist"));
  return std::move(*r);
}

absl::StatusOr<Info> UpdateInfo(sqlite::Tx& tx, const Info& info,
                                std::span<const std::string> fieldpaths, absl::Time now) {
  ASSIGN_OR_RETURN(Record r, GetInfo(tx, info.name));
  Info updated = std::move(r.info);
  if (fieldpaths.empty()) {
    updated.labels = WithoutEmptyValues(info.labels);
  }
  for (const std::string& path : fieldpaths) {
    if (absl::StartsWith(path, "labels.")) {
      ApplyLabelPath(updated.labels, path.substr(strlen("labels.")), info.labels);
    } else if (path == "labels") {
      updated.labels = WithoutEmptyValues(info.labels);
    } else {
      return ErrInvalidArgument(
          absl::StrCat("cannot update \"", path, "\" field on snapshot \"", info.name, "\""));
    }
  }
  RETURN_IF_ERROR(ValidateLabels(updated.labels));
  updated.updated = now;
  RETURN_IF_ERROR(WriteLabels(tx, r.id, updated.labels, now));
  return updated;
}

absl::StatusOr<std::vector<Record>> WalkInfo(sqlite::Tx& tx, const filters::Filter& filter) {
  static const std::string sql = absl::StrCat(kSelect, "ORDER BY s.key");
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
  std::vector<Record> out;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(Record r, ReadRow(stmt));
    if (MatchInfo(filter, r.info)) out.push_back(std::move(r));
  }
  return out;
}

absl::StatusOr<Snapshot> GetSnapshot(sqlite::Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Record> r, Find(tx, key));
  if (!r) return ErrNotFound(absl::StrCat("snapshot ", key, " does not exist"));
  if (r->info.kind != Kind::kActive && r->info.kind != Kind::kView) {
    return ErrFailedPrecondition(absl::StrCat("requested snapshot ", key, " not active or view"));
  }
  Snapshot s{.id = r->id, .kind = r->info.kind, .parent_ids = {}};
  ASSIGN_OR_RETURN(std::vector<std::string> chain, Chain(tx, r->id));
  s.parent_ids.assign(chain.begin() + 1, chain.end());
  return s;
}

absl::StatusOr<std::string> CheckCreate(sqlite::Tx& tx, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels) {
  if (kind != Kind::kActive && kind != Kind::kView) {
    return ErrInvalidArgument(absl::StrCat("snapshot type ", KindName(kind),
                                           " invalid; only snapshots of type Active or View can "
                                           "be created"));
  }
  RETURN_IF_ERROR(ValidateLabels(WithoutEmptyValues(labels)));
  std::string parent_id;
  if (!parent.empty()) {
    ASSIGN_OR_RETURN(std::optional<Record> p, Find(tx, parent));
    if (!p) return ErrNotFound(absl::StrCat("missing parent \"", parent, "\" bucket"));
    if (p->info.kind != Kind::kCommitted) {
      return ErrInvalidArgument(absl::StrCat("parent \"", parent, "\" is not committed snapshot"));
    }
    parent_id = p->id;
  }
  ASSIGN_OR_RETURN(std::optional<Record> existing, Find(tx, key));
  if (existing) return ErrAlreadyExists(absl::StrCat("snapshot ", key));
  return parent_id;
}

absl::StatusOr<Snapshot> CreateSnapshot(sqlite::Tx& tx, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels,
                                        absl::Time now) {
  ASSIGN_OR_RETURN(std::string parent_id, CheckCreate(tx, kind, key, parent, labels));
  ASSIGN_OR_RETURN(sqlite::Stmt insert,
                   tx.Prepare("INSERT INTO snapshots(key, kind, parent, labels, created_at, "
                              "updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"));
  insert.Bind(1, key).Bind(2, static_cast<int64_t>(kind));
  if (!parent_id.empty()) {
    insert.Bind(3, IdNumber(parent_id));
  } else {
    insert.BindNull(3);
  }
  insert.Bind(4, LabelsToJson(WithoutEmptyValues(labels))).Bind(5, absl::ToUnixNanos(now));
  RETURN_IF_ERROR(insert.Exec());

  ASSIGN_OR_RETURN(sqlite::Stmt last, tx.Prepare("SELECT last_insert_rowid()"));
  ASSIGN_OR_RETURN(bool row, last.Step());
  if (!row) return absl::InternalError("no id for new snapshot");
  Snapshot s{.id = absl::StrCat(last.Int(0)), .kind = kind, .parent_ids = {}};
  if (!parent_id.empty()) {
    ASSIGN_OR_RETURN(s.parent_ids, Chain(tx, parent_id));
  }
  return s;
}

absl::StatusOr<Record> Remove(sqlite::Tx& tx, const std::string& key) {
  ASSIGN_OR_RETURN(std::optional<Record> r, Find(tx, key));
  if (!r) return ErrNotFound(absl::StrCat("snapshot ", key));
  ASSIGN_OR_RETURN(sqlite::Stmt children,
                   tx.Prepare("SELECT 1 FROM snapshots WHERE parent = ?1 LIMIT 1"));
  ASSIGN_OR_RETURN(bool has_child, children.Bind(1, IdNumber(r->id)).Step());
  if (has_child) return ErrFailedPrecondition("cannot remove snapshot with child");
  ASSIGN_OR_RETURN(sqlite::Stmt del, tx.Prepare("DELETE FROM snapshots WHERE id = ?1"));
  RETURN_IF_ERROR(del.Bind(1, IdNumber(r->id)).Exec());
  return std::move(*r);
}

absl::StatusOr<std::string> CommitActive(sqlite::Tx& tx, const std::string& key,
                                         const std::string& name, const snapshots::Usage& usage,
                                         const Labels& labels, absl::Time now) {
  const Labels stored = WithoutEmptyValues(labels);
  RETURN_IF_ERROR(ValidateLabels(stored));
  ASSIGN_OR_RETURN(std::optional<Record> existing, Find(tx, name));
  if (existing) return ErrAlreadyExists(absl::StrCat("committed snapshot ", name));
  ASSIGN_OR_RETURN(std::optional<Record> r, Find(tx, key));
  if (!r) return ErrNotFound(absl::StrCat("failed to get active snapshot \"", key, "\""));
  if (r->info.kind != Kind::kActive) {
    return ErrFailedPrecondition(absl::StrCat("snapshot \"", key, "\" is not active"));
  }
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("UPDATE snapshots SET key = ?2, kind = ?3, labels = ?4, "
                              "created_at = ?5, updated_at = ?5, size = ?6, inodes = ?7 "
                              "WHERE id = ?1"));
  stmt.Bind(1, IdNumber(r->id)).Bind(2, name).Bind(3, static_cast<int64_t>(Kind::kCommitted));
  stmt.Bind(4, LabelsToJson(stored)).Bind(5, absl::ToUnixNanos(now));
  stmt.Bind(6, usage.size).Bind(7, usage.inodes);
  RETURN_IF_ERROR(stmt.Exec());
  return r->id;
}

absl::StatusOr<std::set<std::string>> Ids(sqlite::Tx& tx) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT id FROM snapshots"));
  std::set<std::string> ids;
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return ids;
    ids.insert(absl::StrCat(stmt.Int(0)));
  }
}

}  // namespace berth::snapshots::storage
