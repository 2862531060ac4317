// The overlayfs snapshotter (containerd's snapshots/overlay, plugin id "overlayfs"), berth's
// default. Each snapshot is a directory holding an overlay upper layer; a chain of committed
// snapshots is stacked as overlay lower layers at mount time, so nothing is ever copied.
//
// On disk, under `root` (containerd's layout):
//   metadata.db             the records (snapshots/storage.h)
//   snapshots/<id>/fs       the snapshot's files: upperdir while active, a lowerdir once committed
//   snapshots/<id>/work     overlay's workdir (active snapshots only)
//   snapshots/new-*, rm-*   being created / removed (snapshots/dirs.h)
//
// Mounts, as containerd 1.6 returns them:
//   active, no parent        bind  <fs>                      rw,rbind
//   active, parents p1..pn   overlay  [index=off,][userxattr,]workdir=<work>,upperdir=<fs>,
//                                     lowerdir=<p1 fs>:...:<pn fs>   (nearest parent first)
//   view, no parent          bind  <own empty fs>            ro,rbind
//   view, one parent         bind  <parent fs>               ro,rbind
//   view, parents p1..pn     overlay  [index=off,][userxattr,]lowerdir=<p1 fs>:...:<pn fs>
// `index=off` is added when the kernel has the overlay `index` feature (as containerd does), so
// that a lower layer shared by many mounts is never locked to one upper. `userxattr` is added
// only when running inside a user namespace on a file system other than tmpfs (kernels >= 5.11;
// containerd's slow probe for older kernels is not carried over). Overlay options past one page
// are handled by sys::MountAt (lowerdir compaction).
//
// A new snapshot's fs/ takes the owner of its parent's fs/. Committing computes the usage of
// fs/ once (blocks and inodes, sys::DiskUsage) and stores it; Usage of an active snapshot
// measures fs/ on demand. Remove deletes the record and renames the directory to rm-<id> in one
// transaction, then deletes the directory inline, or leaves it to Cleanup with
// `async_remove` (containerd's plugin always removes asynchronously, its GC calls Cleanup).
//
// Requires a backing file system with d_type (Open fails with FailedPrecondition otherwise).
//
// Thread-safety: safe for concurrent use. Calls are transactions on the metadata database
// (serialized; creating and removing directories happens inside them and is cheap); measuring
// usage for Commit/Usage runs outside any transaction.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "snapshots/dirs.h"
#include "snapshots/snapshotter.h"
#include "snapshots/storage.h"

namespace berth::snapshots {

// containerd's optional label carrying the upperdir path of each snapshot (upperdir_label).
inline constexpr char kUpperdirLabel[] = "containerd.io/snapshot/overlay.upperdir";

struct OverlayOptions {
  // Remove leaves directories to the next Cleanup instead of deleting them inline.
  bool async_remove = false;
  // Stat, Update and Walk report kUpperdirLabel (never stored).
  bool upperdir_label = false;
};

class OverlaySnapshotter : public Snapshotter {
 public:
  // Opens (creating if needed) the snapshotter rooted at `root`. FailedPrecondition if the file
  // system lacks d_type; errors of the metadata database as sqlite::Database::Open's.
  static absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> Open(
      const std::string& root, const OverlayOptions& options = {});
  ~OverlaySnapshotter() override;

  absl::StatusOr<Info> Stat(const std::string& key) override;
  absl::StatusOr<Info> Update(const Info& info, std::span<const std::string> fieldpaths) override;
  absl::StatusOr<snapshots::Usage> Usage(const std::string& key) override;
  absl::StatusOr<std::vector<sys::Mount>> Mounts(const std::string& key) override;
  absl::StatusOr<std::vector<sys::Mount>> Prepare(const std::string& key, const std::string& parent,
                                                  const Labels& labels) override;
  absl::StatusOr<std::vector<sys::Mount>> View(const std::string& key, const std::string& parent,
                                               const Labels& labels) override;
  absl::Status Commit(const std::string& name, const std::string& key,
                      const Labels& labels) override;
  absl::Status Remove(const std::string& key) override;
  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) override;
  absl::Status Cleanup() override;
  absl::Status Close() override;

  // Where snapshot `id`'s files live (for tests and diff tools).
  std::string UpperPath(const std::string& id) const;
  std::string WorkPath(const std::string& id) const;

 private:
  OverlaySnapshotter(std::string root, OverlayOptions options, bool index_off, bool userxattr,
                     std::unique_ptr<storage::MetaStore> ms);

  absl::StatusOr<std::vector<sys::Mount>> CreateSnapshot(Kind kind, const std::string& key,
                                                         const std::string& parent,
                                                         const Labels& labels);
  std::vector<sys::Mount> MountsFor(const storage::Snapshot& s) const;
  void AddUpperdirLabel(const std::string& id, Info& info) const;

  const std::string root_;
  const OverlayOptions options_;
  const bool index_off_;
  const bool userxattr_;
  const std::unique_ptr<storage::MetaStore> ms_;
  SnapshotDirs dirs_;
};

}  // namespace berth::snapshots
