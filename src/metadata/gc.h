// Garbage collection: containerd's mark-and-sweep over the metadata, then removal of what no
// namespace references any more from the shared backends (the blob store, the snapshotters).
//
// Mark and sweep run in ONE write transaction, across all namespaces, so what is marked is what
// is kept. Roots (containerd's metadata/gc.go):
//   - leases that have not expired, with their resources: "content" (digest), "ingests" (ref),
//     "snapshots/<snapshotter>" (key); a lease labelled `containerd.io/gc.flat` holds its content
//     and snapshots "flat" (their gc.ref labels are not followed; snapshot parents still are);
//   - images: the target digest and the image's gc.ref labels;
//   - ingests with an expiry (`expires_at`, set when written without a lease) not yet passed;
//   - content and snapshots labelled `containerd.io/gc.root`;
//   - containers: their snapshot (snapshotter, snapshot_key) and their gc.ref labels.
// References: a blob's or snapshot's labels `containerd.io/gc.ref.content[.|/<name>]` = digest
// and `containerd.io/gc.ref.snapshot.<snapshotter>[/<name>]` = key (in the same namespace); a
// snapshot's parent; an ingest's expected digest. The sweep deletes expired leases and every
// content_blobs, content_ingests and snapshots row that was not marked.
//
// Then, outside the transaction (the API is not held up by disk work), each backend is compared
// with the rows of every namespace: a blob no content_blobs row has and no ingest expects is
// deleted; a backend ingest no content_ingests row names is aborted; a snapshot whose backend
// key no snapshots row has is removed, children before parents, and the snapshotter's Cleanup
// runs. Each blob and ingest removal is re-checked against the database while holding the
// content store's guard exclusively (see GcBackends), so an object created and recorded
// meanwhile is never removed.
//
// Thread-safety: GarbageCollect may run concurrently with any store (and with itself, though
// that is wasted work); the GcScheduler runs it from one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "content/store.h"
#include "snapshots/snapshotter.h"
#include "sqlite/db.h"

namespace berth::metadata {

inline constexpr char kLabelGcRoot[] = "containerd.io/gc.root";
inline constexpr char kLabelGcFlat[] = "containerd.io/gc.flat";
inline constexpr char kLabelGcRefContent[] = "containerd.io/gc.ref.content";
inline constexpr char kLabelGcRefSnapshot[] = "containerd.io/gc.ref.snapshot.";

// The backends GarbageCollect cleans after the sweep. Any may be absent.
struct GcBackends {
  // The shared blob store (ingest refs are "<namespace>/<ref>", see ContentStore).
  content::Store* content = nullptr;
  // Held shared by the content store from creating a backend object (ingest, blob) until its row
  // is committed (ContentStore::gc_guard()); GC holds it exclusively around re-checking and
  // removing one object. Null: no guard (only for tests without concurrent writers).
  absl::Mutex* content_guard = nullptr;
  // Snapshotters by name (the `snapshotter` column of the snapshots table).
  std::map<std::string, snapshots::Snapshotter*> snapshotters;
  // If set, called for each snapshotter above instead of GC's own removal of unrecorded backend
  // snapshots: the namespaced snapshot store's Cleanup (SnapshotStore::Cleanup), which also
  // knows the snapshots being created (backend snapshot made, row not yet inserted) and leaves
  // them alone. GC's own removal re-checks each snapshot's row just before removing it, but
  // cannot see such creations: without this hook, use it only with no concurrent Prepare/View.
  std::function<absl::Status(const std::string& snapshotter)> snapshot_cleanup;
};

struct GcStats {
  // Rows deleted by the sweep.
  int64_t leases = 0;        // expired leases
  int64_t content_rows = 0;  // (namespace, digest) references
  int64_t ingest_rows = 0;
  int64_t snapshot_rows = 0;
  // Objects removed from the backends.
  int64_t blobs = 0;
  int64_t bytes = 0;      // sizes of the removed blobs
  int64_t ingests = 0;    // backend ingests aborted
  int64_t snapshots = 0;  // backend snapshots removed (not counted with snapshot_cleanup)
  // Durations: mark and sweep together are the time the metadata was held (the pause).
  absl::Duration mark;
  absl::Duration sweep;
  absl::Duration content;       // the content backend pass
  absl::Duration snapshotters;  // all snapshotter passes

  // The pause: what the API waited for (containerd's gc.Stats.Elapsed).
  absl::Duration Pause() const { return mark + sweep; }
};

// Runs one collection as described above. `now` decides which leases and ingests have expired.
// Errors from the transaction leave the metadata unchanged; a backend error stops that backend's
// pass (the others still run) and is returned after all passes, with the stats so far logged.
absl::StatusOr<GcStats> GarbageCollect(sqlite::Database& db, const GcBackends& backends,
                                       absl::Time now = absl::Now());

}  // namespace berth::metadata
