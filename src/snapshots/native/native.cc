#include "snapshots/native/native.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/filters.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/tree.h"

namespace berth::snapshots {

absl::StatusOr<std::unique_ptr<NativeSnapshotter>> NativeSnapshotter::Open(
    const std::string& root) {
  RETURN_IF_ERROR(sys::MakeDirs(root, 0700));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::MetaStore> ms,
                   storage::MetaStore::Open(root + "/metadata.db", "native snapshots"));
  std::unique_ptr<NativeSnapshotter> s(new NativeSnapshotter(root, std::move(ms)));
  RETURN_IF_ERROR(s->dirs_.Init());
  return s;
}

NativeSnapshotter::NativeSnapshotter(std::string root, std::unique_ptr<storage::MetaStore> ms)
    : root_(std::move(root)), ms_(std::move(ms)), dirs_(root_ + "/snapshots") {}

NativeSnapshotter::~NativeSnapshotter() { ms_->Close(); }

absl::StatusOr<Info> NativeSnapshotter::Stat(const std::string& key) {
  Info info;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Record r, storage::GetInfo(tx, key));
    info = std::move(r.info);
    return absl::OkStatus();
  }));
  return info;
}

absl::StatusOr<Info> NativeSnapshotter::Update(const Info& info,
                                               std::span<const std::string> fieldpaths) {
  Info updated;
  RETURN_IF_ERROR(ms_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(updated, storage::UpdateInfo(tx, info, fieldpaths, absl::Now()));
    return absl::OkStatus();
  }));
  return updated;
}

absl::StatusOr<snapshots::Usage> NativeSnapshotter::Usage(const std::string& key) {
  storage::Record r;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(r, storage::GetInfo(tx, key));
    return absl::OkStatus();
  }));
  if (r.info.kind != Kind::kActive) return r.usage;
  absl::StatusOr<sys::TreeUsage> du = sys::DiskUsage(dirs_.Path(r.id));
  if (!du.ok()) return DiskError(du.status());
  return snapshots::Usage{.size = du->size, .inodes = du->inodes};
}

absl::StatusOr<std::vector<sys::Mount>> NativeSnapshotter::Mounts(const std::string& key) {
  storage::Snapshot s;
  absl::Status st = ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(s, storage::GetSnapshot(tx, key));
    return absl::OkStatus();
  });
  if (!st.ok()) return Annotate(st, "failed to get snapshot mount");
  return MountsFor(s);
}

absl::StatusOr<std::vector<sys::Mount>> NativeSnapshotter::Prepare(const std::string& key,
                                                                   const std::string& parent,
                                                                   const Labels& labels) {
  return CreateSnapshot(Kind::kActive, key, parent, labels);
}

absl::StatusOr<std::vector<sys::Mount>> NativeSnapshotter::View(const std::string& key,
                                                                const std::string& parent,
                                                                const Labels& labels) {
  return CreateSnapshot(Kind::kView, key, parent, labels);
}

absl::StatusOr<std::vector<sys::Mount>> NativeSnapshotter::CreateSnapshot(Kind kind,
                                                                          const std::string& key,
                                                                          const std::string& parent,
                                                                          const Labels& labels) {
  // Fail fast, before a copy that may take long; the transaction below checks again.
  std::string parent_id;
  auto check = [&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(parent_id, storage::CheckCreate(tx, kind, key, parent, labels));
    return absl::OkStatus();
  };
  absl::Status checked = ms_->Read(check);
  if (!checked.ok()) return Annotate(checked, "failed to create snapshot");

  // A view of a parent binds the parent itself; everything else has its own directory.
  const bool own_dir = kind == Kind::kActive || parent.empty();
  std::string temp;
  bool placed = false;
  absl::Cleanup release = [&] {
    if (temp.empty()) return;
    if (!placed) {
      absl::Status rm = sys::RemoveAll(temp);
      if (!rm.ok()) log::Warn("failed to remove temp snapshot dir", {{"error", rm.ToString()}});
    }
    dirs_.Release(temp);
  };
  if (own_dir) {
    ASSIGN_OR_RETURN(temp, dirs_.MakeTemp());
    if (!parent_id.empty()) {
      absl::Status copied = sys::CopyTree(dirs_.Path(parent_id), temp);
      if (!copied.ok()) {
        // The parent may have been removed while it was copied: say so if it was.
        absl::Status again = ms_->Read(check);
        if (!again.ok()) return Annotate(again, "failed to create snapshot");
        return DiskError(Annotate(copied, "copying of parent failed"));
      }
    }
  }

  storage::Snapshot s;
  RETURN_IF_ERROR(ms_->Write([&](sqlite::Tx& tx) -> absl::Status {
    absl::StatusOr<storage::Snapshot> created =
        storage::CreateSnapshot(tx, kind, key, parent, labels, absl::Now());
    if (!created.ok()) return Annotate(created.status(), "failed to create snapshot");
    s = *std::move(created);
    if (!s.parent_ids.empty() && s.parent_ids[0] != parent_id) {
      // Removed and committed again under the same name while we copied the old one.
      return absl::AbortedError(
          absl::StrCat("failed to create snapshot: parent ", parent, " changed during copy"));
    }
    if (own_dir) {
      RETURN_IF_ERROR(dirs_.Place(temp, s.id));
      placed = true;  // last step: only the commit can fail from here
    }
    return absl::OkStatus();
  }));
  return MountsFor(s);
}

absl::Status NativeSnapshotter::Commit(const std::string& name, const std::string& key,
                                       const Labels& labels) {
  return CommitSnapshot(*ms_, name, key, labels,
                        [this](const std::string& id) { return dirs_.Path(id); });
}

absl::Status NativeSnapshotter::Remove(const std::string& key) {
  return RemoveSnapshot(*ms_, dirs_, key, /*defer=*/false);
}

absl::Status NativeSnapshotter::Walk(const WalkFn& fn, std::span<const std::string> fs) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(fs));
  std::vector<storage::Record> records;
  RETURN_IF_ERROR(ms_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(records, storage::WalkInfo(tx, filter));
    return absl::OkStatus();
  }));
  // Outside the transaction, so that `fn` may call back into the snapshotter.
  for (const storage::Record& r : records) RETURN_IF_ERROR(fn(r.info));
  return absl::OkStatus();
}

absl::Status NativeSnapshotter::Cleanup() { return CleanupSnapshots(*ms_, dirs_); }

absl::Status NativeSnapshotter::Close() {
  ms_->Close();
  return absl::OkStatus();
}

std::vector<sys::Mount> NativeSnapshotter::MountsFor(const storage::Snapshot& s) const {
  const bool view = s.kind == Kind::kView;
  const std::string& id = (view && !s.parent_ids.empty()) ? s.parent_ids[0] : s.id;
  return {sys::Mount{
      .type = "bind", .source = dirs_.Path(id), .options = {"rbind", view ? "ro" : "rw"}}};
}

}  // namespace berth::snapshots
