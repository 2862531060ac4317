// The snapshotter interface (containerd's snapshots.Snapshotter): allocates, snapshots and mounts
// file-system changesets organised as parent/child chains. Implementations: OverlaySnapshotter
// (snapshots/overlay, the default) and NativeSnapshotter (snapshots/native, full copies); both
// pass the conformance suite in snapshots/testsuite.
//
// Vocabulary, as containerd's: `key` names an active or view snapshot, `name` a committed one,
// `parent` the committed snapshot a new one descends from ("" for none). Keys and names share
// one space. Prepare creates an active snapshot (read-write), View a view (read-only, never
// committable); Commit turns an active snapshot into a committed one under a new name and the
// key disappears; committed snapshots are immutable and are the only possible parents.
//
// Errors are containerd's classes with its messages (services/ maps the codes 1:1 to gRPC and
// clients branch on them):
//   NotFound            the key/name/parent does not exist
//   AlreadyExists       the key or the commit name is taken
//   FailedPrecondition  Remove of a snapshot that has children; Mounts of a committed snapshot;
//                       Commit of a snapshot that is not active (a view or a committed one);
//                       any call after Close ("snapshotter is closed")
//   InvalidArgument     a parent that is not committed; Update of a field other than labels;
//                       malformed Walk filters; labels over the size limit
//   Unknown / ResourceExhausted  the file system failed (ENOSPC -> ResourceExhausted); these
//                       never reuse the codes above, so a client never mistakes an I/O error for
//                       a missing or existing snapshot.
//
// Thread-safety: implementations are safe for concurrent use by any number of threads; each
// documents how it serializes internally. Walk calls its function without holding any lock, so
// the function may call back into the snapshotter (Stat, Remove, ...).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/filters.h"
#include "base/labels.h"
#include "sys/mount.h"

namespace berth::snapshots {

// containerd's snapshots.Kind, with its numeric values (they are the API's enum values too).
enum class Kind : uint8_t { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

// "View", "Active", "Committed" ("Unknown" otherwise), as containerd's Kind.String().
absl::string_view KindName(Kind kind);
// Case-insensitive inverse of KindName; kUnknown for anything else.
Kind ParseKind(absl::string_view name);

struct Info;
// Whether `info` matches `filter` (containerd's adaptSnapshot: fields kind ("active", "view",
// "committed"), name and parent (present even when empty), labels.<key>).
bool MatchInfo(const filters::Filter& filter, const Info& info);

struct Info {
  Kind kind = Kind::kUnknown;
  std::string name;    // the key of an active/view snapshot, the name of a committed one
  std::string parent;  // name of the parent, "" if none
  Labels labels;
  absl::Time created;  // creation (for a committed snapshot: the commit)
  absl::Time updated;  // last Update, == created until then

  bool operator==(const Info&) const = default;
};

// Resources used by one snapshot alone, not counting its parents.
struct Usage {
  int64_t size = 0;    // bytes of disk allocated
  int64_t inodes = 0;  // inodes in use

  bool operator==(const Usage&) const = default;
};

// Called by Walk for each matching snapshot; a non-OK status stops the walk and is returned.
using WalkFn = std::function<absl::Status(const Info&)>;

// Labels under this prefix (and "containerd.io/snapshot.ref") are the ones containerd's metadata
// layer passes down to the snapshotter; exposed for that layer's use.
inline constexpr char kInheritedLabelsPrefix[] = "containerd.io/snapshot/";
inline constexpr char kLabelSnapshotRef[] = "containerd.io/snapshot.ref";
Labels FilterInheritedLabels(const Labels& labels);

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // The info of the snapshot with key or name `key`. NotFound "snapshot <key> does not exist".
  virtual absl::StatusOr<Info> Stat(const std::string& key) = 0;

  // Updates the mutable fields of snapshot `info.name` and returns the result. `fieldpaths`
  // empty replaces all labels; "labels" replaces all labels; "labels.<k>" sets label k from
  // info.labels (removes it if absent or ""). Labels with empty values are never stored. The
  // updated time is set to now. NotFound if missing; InvalidArgument "cannot update "<path>"
  // field on snapshot "<name>"" for any other path (kind, parent, name, timestamps are immutable).
  virtual absl::StatusOr<Info> Update(const Info& info,
                                      std::span<const std::string> fieldpaths) = 0;

  // The resources used by snapshot `key` alone. For committed snapshots the figure measured at
  // commit; for active ones it is measured now (time proportional to the snapshot's size); views
  // use nothing of their own. NotFound if missing.
  virtual absl::StatusOr<snapshots::Usage> Usage(const std::string& key) = 0;

  // The mounts that present the active or view snapshot `key`, as returned by its Prepare/View.
  // NotFound if missing; FailedPrecondition for a committed snapshot.
  virtual absl::StatusOr<std::vector<sys::Mount>> Mounts(const std::string& key) = 0;

  // Creates the active snapshot `key` on top of the committed `parent` ("" for an empty
  // directory) and returns the mounts that present it read-write: mounted on a directory, it
  // starts with the parent's content and captures changes. AlreadyExists if `key` exists;
  // NotFound if `parent` does not; InvalidArgument if `parent` is not committed.
  virtual absl::StatusOr<std::vector<sys::Mount>> Prepare(const std::string& key,
                                                          const std::string& parent,
                                                          const Labels& labels) = 0;

  // Like Prepare, but the snapshot is a read-only view of `parent`: its mounts are read-only
  // and it can never be committed. Same errors as Prepare.
  virtual absl::StatusOr<std::vector<sys::Mount>> View(const std::string& key,
                                                       const std::string& parent,
                                                       const Labels& labels) = 0;

  // Captures the active snapshot `key` as the committed snapshot `name`, with key's parent and
  // the given labels (key's labels are not inherited); `key` no longer exists afterwards.
  // NotFound if `key` does not exist; AlreadyExists if `name` does; FailedPrecondition if `key`
  // is not active. The caller must have unmounted `key`'s mounts.
  virtual absl::Status Commit(const std::string& name, const std::string& key,
                              const Labels& labels) = 0;

  // Removes the snapshot `key` (any kind) and its content; the key may be reused at once.
  // NotFound if missing; FailedPrecondition "cannot remove snapshot with child" if another
  // snapshot descends from it.
  virtual absl::Status Remove(const std::string& key) = 0;

  // Calls `fn` for each snapshot matching `filters` (containerd filter strings, OR'ed; none
  // matches all) in key order. Fields: name, parent, kind ("active", "view", "committed"),
  // labels.<key>. InvalidArgument for malformed filters; otherwise the first error of `fn`.
  virtual absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) = 0;

  // Removes what the snapshotter holds on disk that no snapshot references any more: the
  // directories of removed snapshots (when removal is deferred), and what a crash left behind
  // (half-created or half-removed snapshots). Safe to call at any time.
  virtual absl::Status Cleanup() = 0;

  // Releases the snapshotter's resources (its database). Every later call fails with
  // FailedPrecondition, except Close, which may be called again and returns OK.
  virtual absl::Status Close() = 0;
};

}  // namespace berth::snapshots
