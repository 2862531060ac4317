// The bookkeeping database shared by the snapshotters (containerd's snapshots/storage): one SQLite
// file, `<root>/metadata.db`, holding each snapshot's key, kind, parent, labels, times and (for
// committed snapshots) its usage, plus the numeric id that names its directory on disk.
//
// Schema (version 1), drawn in docs/ too:
//   snapshots(id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a stale directory named
//                                                    -- after a removed id never becomes live
//             key TEXT UNIQUE, kind INTEGER (Kind's values), parent INTEGER -> snapshots(id),
//             labels TEXT (JSON), created_at, updated_at INTEGER (unix ns),
//             size, inodes INTEGER (committed snapshots' usage))
// Commit keeps the row and its id, renaming the key, as containerd's CommitActive does; the
// parent link is by id, so children follow.
//
// The Tx functions below run inside a MetaStore transaction and return containerd's errors
// (see snapshotter.h); callers add containerd's context ("failed to create snapshot: ...").
//
// Thread-safety: MetaStore is safe for concurrent use; transactions are serialized by the
// database (sqlite/db.h). Close waits for running transactions; later ones fail with
// FailedPrecondition "snapshotter is closed".
#pragma once

#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/filters.h"
#include "snapshots/snapshotter.h"
#include "sqlite/db.h"

namespace berth::snapshots::storage {

class MetaStore {
 public:
  // Opens or creates the database at `path`. `name` (a string literal) appears in messages and
  // tells the snapshotters' databases apart ("overlayfs snapshots").
  static absl::StatusOr<std::unique_ptr<MetaStore>> Open(const std::string& path, const char* name);

  absl::Status Read(const std::function<absl::Status(sqlite::Tx&)>& fn);
  absl::Status Write(const std::function<absl::Status(sqlite::Tx&)>& fn);
  // Closes the database; idempotent.
  void Close();

 private:
  explicit MetaStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

  absl::Mutex mu_;  // shared by transactions, exclusive for Close
  std::unique_ptr<sqlite::Database> db_ ABSL_GUARDED_BY(mu_);
};

// One snapshot's row.
struct Record {
  std::string id;
  Info info;
  snapshots::Usage usage;  // as stored: set for committed snapshots only
};

// An active or view snapshot with its ancestry, what mounts are built from.
struct Snapshot {
  std::string id;
  Kind kind = Kind::kUnknown;
  std::vector<std::string> parent_ids;  // nearest parent first
};

// NotFound "snapshot <key> does not exist".
absl::StatusOr<Record> GetInfo(sqlite::Tx& tx, const std::string& key);

// See Snapshotter::Update. `now` becomes the updated time.
absl::StatusOr<Info> UpdateInfo(sqlite::Tx& tx, const Info& info,
                                std::span<const std::string> fieldpaths, absl::Time now);

// Every snapshot matching `filter`, in key order.
absl::StatusOr<std::vector<Record>> WalkInfo(sqlite::Tx& tx, const filters::Filter& filter);

// The active or view snapshot `key`. NotFound "snapshot <key> does not exist";
// FailedPrecondition "requested snapshot <key> not active or view".
absl::StatusOr<Snapshot> GetSnapshot(sqlite::Tx& tx, const std::string& key);

// The checks of CreateSnapshot without the insert; returns the parent's id ("" for none). Lets
// a caller fail fast before expensive work done outside the transaction.
absl::StatusOr<std::string> CheckCreate(sqlite::Tx& tx, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels);

// Inserts an active or view snapshot. NotFound "missing parent "<p>" bucket" (containerd's
// words); InvalidArgument "parent "<p>" is not committed snapshot"; AlreadyExists
// "snapshot <key>"; InvalidArgument for oversized labels.
absl::StatusOr<Snapshot> CreateSnapshot(sqlite::Tx& tx, Kind kind, const std::string& key,
                                        const std::string& parent, const Labels& labels,
                                        absl::Time now);

// Deletes the row of `key`; returns what it was. NotFound "snapshot <key>"; FailedPrecondition
// "cannot remove snapshot with child".
absl::StatusOr<Record> Remove(sqlite::Tx& tx, const std::string& key);

// Turns the active snapshot `key` into the committed `name` with `usage` and `labels` (replacing
// key's). Returns the id (unchanged). AlreadyExists "committed snapshot <name>"; NotFound
// "failed to get active snapshot "<key>""; FailedPrecondition "snapshot "<key>" is not active".
absl::StatusOr<std::string> CommitActive(sqlite::Tx& tx, const std::string& key,
                                         const std::string& name, const snapshots::Usage& usage,
                                         const Labels& labels, absl::Time now);

// The ids of all snapshots (the directories that must stay).
absl::StatusOr<std::set<std::string>> Ids(sqlite::Tx& tx);

}  // namespace berth::snapshots::storage
