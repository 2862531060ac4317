// The snapshot directories under `<root>/snapshots`, shared by the overlay and native
// snapshotters (containerd's layout):
//
//   <id>          a snapshot recorded in metadata.db under that id
//   new-XXXXXX    a snapshot being created: renamed to <id> inside the transaction that records it
//   rm-<name>     a snapshot being removed: renamed from <id> inside the transaction that deletes
//                 its record, then deleted (inline, or by Cleanup when removal is deferred)
//
// Below the class, the operations both snapshotters run the same way over it (Commit, Remove,
// Cleanup).
//
// Renames into and out of <id> happen only inside the database's write transactions, so a scan
// done inside one (CollectOrphans) sees directories and records that agree. What a crash leaves
// behind (new-*, rm-*, an <id> whose record never committed) is an orphan; so is anything else.
// Directories used by a running call outside a transaction (a new-* being filled, an rm-* being
// deleted) are marked busy, and CollectOrphans leaves them alone.
//
// Thread-safety: safe for concurrent use; `mu_` guards the busy set.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "snapshots/storage.h"

namespace berth::snapshots {

class SnapshotDirs {
 public:
  // `dir` is `<root>/snapshots`.
  explicit SnapshotDirs(std::string dir) : dir_(std::move(dir)) {}

  // Creates the directory (0700) if missing.
  absl::Status Init();

  const std::string& dir() const { return dir_; }
  std::string Path(const std::string& id) const { return dir_ + "/" + id; }

  // Creates `new-XXXXXX` with mode 0755 and marks it busy; returns its path.
  absl::StatusOr<std::string> MakeTemp();

  // Inside a write transaction, as its last step: renames `temp` to Path(id). A directory already
  // there is stale (a crash between rename and commit; ids are reused only if never committed)
  // and is first moved aside for Cleanup.
  absl::Status Place(const std::string& temp, const std::string& id);

  // Inside a write transaction: renames Path(id) to a removal name, marked busy; returns that
  // path, or "" if the snapshot had no directory (a native view).
  absl::StatusOr<std::string> MoveToRemoval(const std::string& id);

  // Undoes MoveToRemoval after the transaction failed, and releases the path.
  void RestoreRemoved(const std::string& removal, const std::string& id);

  // Deletes `path` (logging, not returning, a failure: the snapshot is already gone from the
  // records, and Cleanup retries) and releases it.
  void RemoveAndRelease(const std::string& path);

  // Marks `path` as no longer used by a running call.
  void Release(const std::string& path);

  // Inside a write transaction: moves every entry that is neither in `ids` nor busy to a removal
  // name (marked busy) and returns those paths, for the caller to RemoveAndRelease after the
  // transaction.
  absl::StatusOr<std::vector<std::string>> CollectOrphans(const std::set<std::string>& ids);

 private:
  // Renames `path` to a fresh `rm-<base>[-n]` in dir_ (caller holds mu_); returns the new path.
  absl::StatusOr<std::string> RenameForRemovalLocked(const std::string& path,
                                                     const std::string& base)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string dir_;
  absl::Mutex mu_;
  std::set<std::string> busy_ ABSL_GUARDED_BY(mu_);  // paths
};

// Snapshotter::Commit for both snapshotters. The usage of the directory `layer(id)` is measured
// outside any transaction (it reads the whole layer); the transaction then checks that `key`
// still names the measured snapshot (retrying if it was replaced meanwhile). Errors as
// Snapshotter::Commit's; all but NotFound of `key` prefixed "failed to commit snapshot: ".
absl::Status CommitSnapshot(storage::MetaStore& ms, const std::string& name, const std::string& key,
                            const Labels& labels,
                            const std::function<std::string(const std::string& id)>& layer);

// Snapshotter::Remove for both snapshotters: deletes the record of `key` and moves its directory
// to a removal name in one transaction, then deletes the directory unless `defer` (Cleanup will).
// Errors as Snapshotter::Remove's, prefixed "failed to remove: ".
absl::Status RemoveSnapshot(storage::MetaStore& ms, SnapshotDirs& dirs, const std::string& key,
                            bool defer);

// Snapshotter::Cleanup for both snapshotters.
absl::Status CleanupSnapshots(storage::MetaStore& ms, SnapshotDirs& dirs);

// The status for a failed file-system operation inside a snapshot call: ResourceExhausted (disk
// full) stays, every other code becomes Unknown with the same message, so that an ENOENT deep in
// a copy is never taken for "snapshot not found" by a client (containerd reports such errors as
// Unknown too).
absl::Status DiskError(const absl::Status& status);

}  // namespace berth::snapshots
