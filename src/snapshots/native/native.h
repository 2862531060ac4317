// The native snapshotter (containerd's snapshots/native, plugin id "native"): every active
// snapshot is a full copy of its parent's tree, so it works on any file system and needs no
// overlayfs, at the cost of disk space and copy time. Committing keeps the copy as it is.
//
// On disk, under `root` (containerd's layout):
//   metadata.db             the records (snapshots/storage.h)
//   snapshots/<id>/         the snapshot's complete tree
//   snapshots/new-*, rm-*   being created / removed (snapshots/dirs.h)
//
// Mounts, as containerd 1.6 returns them (one bind mount):
//   active                  bind  snapshots/<id>            rbind,rw
//   view, no parent         bind  snapshots/<id> (empty)    rbind,ro
//   view of parent p        bind  snapshots/<p's id>        rbind,ro   (no copy, no directory)
//
// Prepare copies the parent with sys::CopyTree (contents, modes, owners, times, xattrs, hard
// links, symlinks, devices) into a new-* directory *outside* any transaction, so that a large
// copy does not hold up the other calls, then records the snapshot and renames the directory in
// one transaction; if the parent was removed meanwhile, Prepare fails with NotFound. Usage of
// committed snapshots is measured at commit and stored; of active ones, measured on demand.
// Remove deletes the record and renames the directory in one transaction, then deletes the
// directory inline.
//
// Thread-safety: safe for concurrent use; see above for what runs outside transactions.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "snapshots/dirs.h"
#include "snapshots/snapshotter.h"
#include "snapshots/storage.h"

namespace berth::snapshots {

class NativeSnapshotter : public Snapshotter {
 public:
  // Opens (creating if needed) the snapshotter rooted at `root`.
  static absl::StatusOr<std::unique_ptr<NativeSnapshotter>> Open(const std::string& root);
  ~NativeSnapshotter() override;

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

  // Where snapshot `id`'s tree lives.
  std::string SnapshotPath(const std::string& id) const { return dirs_.Path(id); }

 private:
  NativeSnapshotter(std::string root, std::unique_ptr<storage::MetaStore> ms);

  absl::StatusOr<std::vector<sys::Mount>> CreateSnapshot(Kind kind, const std::string& key,
                                                         const std::string& parent,
                                                         const Labels& labels);
  std::vector<sys::Mount> MountsFor(const storage::Snapshot& s) const;

  const std::string root_;
  const std::unique_ptr<storage::MetaStore> ms_;
  SnapshotDirs dirs_;
};

}  // namespace berth::snapshots
