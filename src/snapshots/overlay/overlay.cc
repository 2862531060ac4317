#include "snapshots/overlay/overlay.h"

#include <sys/stat.h>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/filters.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/tree.h"

namespace berth::snapshots {
namespace {

// containerd adds index=off whenever the running kernel knows the option.
bool SupportsIndex() { return sys::Stat("/sys/module/overlay/parameters/index").ok(); }

// containerd's NeedsUserXAttr, for kernels >= 5.11: only inside a user namespace, and never on
// tmpfs (which refuses user xattrs on older kernels and does not need them).
bool NeedsUserXattr(const std::string& root) {
  absl::StatusOr<std::string> map = sys::ReadFile("/proc/self/uid_map");
  if (!map.ok()) return false;
  std::vector<absl::string_view> fields =
      absl::StrSplit(*map, absl::ByAnyChar(" \t\n"), absl::SkipEmpty());
  const bool initial_ns =
      fields.size() == 3 && fields[0] == "0" && fields[1] == "0" && fields[2] == "4294967295";
  if (initial_ns) return false;
  absl::StatusOr<bool> tmpfs = sys::IsTmpfs(root);
  return tmpfs.ok() && !*tmpfs;
}

absl::Status MakeDir(const std::string& path, mode_t mode) {
  RETURN_IF_ERROR(DiskError(sys::Mkdir(path, mode)));
  return DiskError(sys::Chmod(path, mode));  // exact, whatever the umask
}

}  // namespace

absl::StatusOr<std::unique_ptr<OverlaySnapshotter>> OverlaySnapshotter::Open(
    const std::string& root, const OverlayOptions& options) {
  RETURN_IF_ERROR(sys::MakeDirs(root, 0700));
  ASSIGN_OR_RETURN(bool dtype, sys::SupportsDType(root));
  if (!dtype) {
    return absl::FailedPreconditionError(
        absl::StrCat(root,
                     " does not support d_type. If the backing filesystem is xfs, please "
                     "reformat with ftype=1 to enable d_type support"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<storage::MetaStore> ms,
                   storage::MetaStore::Open(root + "/metadata.db", "overlayfs snapshots"));
  std::unique_ptr<OverlaySnapshotter> s(
      new OverlaySnapshotter(root, options, SupportsIndex(), NeedsUserXattr(root), std::move(ms)));
  RETURN_IF_ERROR(s->dirs_.Init());
  return s;
}

OverlaySnapshotter::OverlaySnapshotter(std::string root, OverlayOptions options, bool index_off,
                                       bool userxattr, std::unique_ptr<storage::MetaStore> ms)
    : root_(std::move(root)),
      options_(options),
      index_off_(index_off),
      userxattr_(userxattr),
      ms_(std::move(ms)),
      dirs_(root_ + "/snapshots") {}

OverlaySnapshotter::~OverlaySnapshotter() { ms_->Close(); }

std::string OverlaySnapshotter::UpperPath(const std::string& id) const {
  return absl::StrCat(dirs_.Path(id), "/fs");
}

std::string OverlaySnapshotter::WorkPath(const std::string& id) const {
  return absl::StrCat(dirs_.Path(id), "/work");
}

void OverlaySnapshotter::AddUpperdirLabel(const std::string& id, Info& info) const {
  if (options_.upperdir_label) info.labels[kUpperdirLabel] = UpperPath(id);
}

absl::StatusOr<Info> OverlaySnapshotter::Stat(const std::string& key) {
  storage::Record r;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(r, storage::GetInfo(tx, key));
    return absl::OkStatus();
  }));
  AddUpperdirLabel(r.id, r.info);
  return std::move(r.info);
}

absl::StatusOr<Info> OverlaySnapshotter::Update(const Info& info,
                                                std::span<const std::string> fieldpaths) {
  Info updated;
  std::string id;
  RETURN_IF_ERROR(ms_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(updated, storage::UpdateInfo(tx, info, fieldpaths, absl::Now()));
    ASSIGN_OR_RETURN(storage::Record r, storage::GetInfo(tx, info.name));
    id = r.id;
    return absl::OkStatus();
  }));
  AddUpperdirLabel(id, updated);
  return updated;
}

absl::StatusOr<snapshots::Usage> OverlaySnapshotter::Usage(const std::string& key) {
  storage::Record r;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(r, storage::GetInfo(tx, key));
    return absl::OkStatus();
  }));
  if (r.info.kind != Kind::kActive) return r.usage;
  absl::StatusOr<sys::TreeUsage> du = sys::DiskUsage(UpperPath(r.id));
  if (!du.ok()) return DiskError(du.status());
  return snapshots::Usage{.size = du->size, .inodes = du->inodes};
}

absl::StatusOr<std::vector<sys::Mount>> OverlaySnapshotter::Mounts(const std::string& key) {
  storage::Snapshot s;
  absl::Status st = ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(s, storage::GetSnapshot(tx, key));
    return absl::OkStatus();
  });
  if (!st.ok()) return Annotate(st, "failed to get active mount");
  return MountsFor(s);
}

absl::StatusOr<std::vector<sys::Mount>> OverlaySnapshotter::Prepare(const std::string& key,
                                                                    const std::string& parent,
                                                                    const Labels& labels) {
  return CreateSnapshot(Kind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<sys::Mount>> OverlaySnapshotter::View(const std::string& key,
                                                                 const std::string& parent,
                                                                 const Labels& labels) {
  return CreateSnapshot(Kind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<sys::Mount>> OverlaySnapshotter::CreateSnapshot(
    Kind kind, const std::string& key, const std::string& parent, const Labels& labels) {
  ASSIGN_OR_RETURN(std::string temp, dirs_.MakeTemp());
  bool placed = false;
  absl::Cleanup release = [&] {
    if (!placed) {
      absl::Status rm = sys::RemoveAll(temp);
      if (!rm.ok()) log::Warn("failed to remove temp snapshot dir", {{"error", rm.ToString()}});
    }
    dirs_.Release(temp);
  };
  absl::Status made = MakeDir(temp + "/fs", 0755);
  if (made.ok() && kind == Kind::kActive) made = MakeDir(temp + "/work", 0711);
  if (!made.ok()) return Annotate(made, "failed to create prepare snapshot dir");

  storage::Snapshot s;
  RETURN_IF_ERROR(ms_->Write([&](sqlite::Tx& tx) -> absl::Status {
    absl::StatusOr<storage::Snapshot> created =
        storage::CreateSnapshot(tx, kind, key, parent, labels, absl::Now());
    if (!created.ok()) return Annotate(created.status(), "failed to create snapshot");
    s = *std::move(created);
    if (!s.parent_ids.empty()) {
      // The new layer's root takes the owner of the layer below, which it covers.
      absl::StatusOr<struct stat> st = sys::Stat(UpperPath(s.parent_ids[0]));
      if (!st.ok()) return DiskError(Annotate(st.status(), "failed to stat parent"));
      RETURN_IF_ERROR(DiskError(sys::Chown(temp + "/fs", st->st_uid, st->st_gid)));
    }
    RETURN_IF_ERROR(dirs_.Place(temp, s.id));
    placed = true;  // last step: only the commit can fail from here
    return absl::OkStatus();
  }));
  return MountsFor(s);
}

absl::Status OverlaySnapshotter::Commit(const std::string& name, const std::string& key,
                                        const Labels& labels) {
  return CommitSnapshot(*ms_, name, key, labels,
                        [this](const std::string& id) { return UpperPath(id); });
}

absl::Status OverlaySnapshotter::Remove(const std::string& key) {
  return RemoveSnapshot(*ms_, dirs_, key, options_.async_remove);
}

absl::Status OverlaySnapshotter::Walk(const WalkFn& fn, std::span<const std::string> fs) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(fs));
  std::vector<storage::Record> records;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(records, storage::WalkInfo(tx, filter));
    return absl::OkStatus();
  }));
  // Outside the transaction, so that `fn` may call back into the snapshotter.
  for (storage::Record& r : records) {
    AddUpperdirLabel(r.id, r.info);
    RETURN_IF_ERROR(fn(r.info));
  }
  return absl::OkStatus();
}

absl::Status OverlaySnapshotter::Cleanup() { return CleanupSnapshots(*ms_, dirs_); }

absl::Status OverlaySnapshotter::Close() {
  ms_->Close();
  return absl::OkStatus();
}

std::vector<sys::Mount> OverlaySnapshotter::MountsFor(const storage::Snapshot& s) const {
  if (s.parent_ids.empty()) {
    // A single layer: overlay needs at least one lowerdir, so bind the directory itself.
    return {sys::Mount{.type = "bind",
                       .source = UpperPath(s.id),
                       .options = {s.kind == Kind::kView ? "ro" : "rw", "rbind"}}};
  }
  if (s.kind == Kind::kView && s.parent_ids.size() == 1) {
    return {sys::Mount{
        .type = "bind", .source = UpperPath(s.parent_ids[0]), .options = {"ro", "rbind"}}};
  }
  std::vector<std::string> options;
  if (index_off_) options.push_back("index=off");
  if (userxattr_) options.push_back("userxattr");
  if (s.kind == Kind::kActive) {
    options.push_back(absl::StrCat("workdir=", WorkPath(s.id)));
    options.push_back(absl::StrCat("upperdir=", UpperPath(s.id)));
  }
  std::vector<std::string> lowers;
  lowers.reserve(s.parent_ids.size());
  for (const std::string& id : s.parent_ids) lowers.push_back(UpperPath(id));
  options.push_back(absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":")));
  return {sys::Mount{.type = "overlay", .source = "overlay", .options = std::move(options)}};
}

}  // namespace berth::snapshots
