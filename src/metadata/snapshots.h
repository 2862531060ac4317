// Namespaced snapshots: containerd's metadata snapshotter (metadata/snapshot.go). The backends
// (overlayfs, native) keep one flat key space each; the metadata database maps each namespace's
// keys onto it, so two namespaces may both have a snapshot "base" without seeing each other.
//
// A row of `snapshots` (docs/metadata.md) maps (namespace, snapshotter, key) to the backend key
// "<namespace>/<sequence>/<key>" (containerd's createKey); the sequence is a counter kept in
// meta('snapshot_sequence'), never reused, so a backend key left over by a crash is never handed
// out again. Labels and times are the metadata's own; the kind, and labels the backend adds, come
// from the backend (Stat/Walk merge them as containerd's overlayInfo does). Only labels under
// "containerd.io/snapshot/" and "containerd.io/snapshot.ref" are passed down to the backend.
//
// Leases: with a request lease, Prepare/View record (`snapshots/<snapshotter>`, key) on it,
// Commit moves the record from key to name, Remove drops it (NotFound "lease does not exist" for
// an unknown lease, before any work is done).
//
// Order of effects, and what a crash in between leaves (nothing is ever half-visible to clients):
//   Prepare/View  allocate the backend key (metadata tx) -> backend Prepare/View -> insert the row
//                 (metadata tx). A crash leaves a backend snapshot no row refers to: an orphan.
//   Commit        insert the row of `name` pointing at a fresh backend key, keeping `key`'s row
//                 (metadata tx) -> backend Commit -> delete `key`'s row (metadata tx). A crash
//                 leaves two rows of which exactly one has its backend snapshot: the other is
//                 dangling (Stat says NotFound, Walk skips it). Nothing committed is lost.
//   Remove        delete the row (metadata tx) -> backend Remove. A crash, or a failing backend
//                 Remove (logged, the call still succeeds), leaves an orphan.
// Cleanup(snapshotter) repairs both: it removes orphans (children first) and dangling rows, then
// runs the backend's own Cleanup. It is what garbage collection calls after deleting rows.
//
// Not carried over from containerd: a backend answering Prepare with AlreadyExists for a
// `containerd.io/snapshot.ref` target (remote snapshotters that share layers across namespaces).
// No berth backend does; such an answer is Unknown "unexpected error from snapshotter", as
// containerd reports it when no target was given.
//
// Thread-safety: safe for concurrent use. Per backend, one mutex (Backend::mu) is held while a
// call checks and changes which rows exist (the metadata transactions of Prepare/View, Remove,
// the whole of Commit, the whole of Cleanup); backend Prepare/View (a native copy may be long)
// and backend Remove run outside it. Lock order: Backend::mu, then the metadata database, then
// the backend's own database.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "snapshots/snapshotter.h"
#include "sqlite/db.h"

namespace berth::metadata {

class SnapshotStore {
 public:
  // `backends`: snapshotter name -> backend. `db` and the backends must outlive the store and
  // every view; the store does not close the backends.
  SnapshotStore(sqlite::Database* db,
                const std::map<std::string, snapshots::Snapshotter*>& backends);
  ~SnapshotStore();

  // Snapshotter `snapshotter` as one request in namespace `ns` (with `lease`, if any) sees it.
  // The view implements snapshots::Snapshotter with containerd's metadata semantics and messages:
  //   NotFound "snapshot <key> does not exist", "parent snapshot <p> does not exist"
  //   AlreadyExists "snapshot "<key>"" (Prepare/View/Commit), "target snapshot "<ref>"" (Prepare
  //     with label containerd.io/snapshot.ref naming an existing snapshot)
  //   FailedPrecondition "cannot remove snapshot with child"
  //   InvalidArgument "info.Labels: ..." for oversized labels, Update of other fields
  //   the backend's errors otherwise (kinds, mounts of committed snapshots, ...).
  // Cleanup on a view is Cleanup(snapshotter) below; Close does nothing.
  // InvalidArgument "snapshotter argument missing" / "snapshotter not loaded: <name>".
  absl::StatusOr<std::unique_ptr<snapshots::Snapshotter>> View(absl::string_view snapshotter,
                                                               std::string ns,
                                                               std::optional<std::string> lease);

  // Repairs what crashes and failed backend removals left (see above) and runs the backend's
  // Cleanup. Snapshots being created meanwhile are left alone. InvalidArgument as View's.
  absl::Status Cleanup(absl::string_view snapshotter);

  // The backends by name (for garbage collection and the diff service).
  const std::map<std::string, snapshots::Snapshotter*>& backends() const { return backends_; }

  // One backend and what the store keeps about it in memory.
  struct Backend;

 private:
  absl::StatusOr<Backend*> Find(absl::string_view snapshotter);

  sqlite::Database* const db_;
  const std::map<std::string, snapshots::Snapshotter*> backends_;
  std::map<std::string, std::unique_ptr<Backend>, std::less<>> states_;
};

// Backend snapshots being created (backend Prepare/View done or running, row not yet inserted):
// Cleanup must not take them for orphans, nor Remove miss them as children.
struct SnapshotStore::Backend {
  struct Pending {
    std::string ns;
    std::string parent;  // the parent's key in `ns`
  };

  std::string name;
  snapshots::Snapshotter* sn = nullptr;
  absl::Mutex mu;
  std::map<std::string, Pending> pending ABSL_GUARDED_BY(mu);  // by backend key
};

}  // namespace berth::metadata
