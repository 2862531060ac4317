#include "snapshots/dirs.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/tree.h"

namespace berth::snapshots {
namespace {

bool Exists(const std::string& path) {
  absl::StatusOr<struct stat> st = sys::Stat(path);
  return st.ok() || st.status().code() != absl::StatusCode::kNotFound;
}

}  // namespace

absl::Status DiskError(const absl::Status& status) {
  if (status.ok() || status.code() == absl::StatusCode::kResourceExhausted) return status;
  return absl::UnknownError(status.message());
}

absl::Status SnapshotDirs::Init() { return DiskError(sys::MakeDirs(dir_, 0700)); }

absl::StatusOr<std::string> SnapshotDirs::MakeTemp() {
  std::string tmpl = absl::StrCat(dir_, "/new-XXXXXX");
  absl::MutexLock lock(&mu_);
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return DiskError(ErrnoError(errno, absl::StrCat("create temp dir in ", dir_)));
  }
  busy_.insert(tmpl);
  absl::Status chmod = sys::Chmod(tmpl, 0755);  // mkdtemp creates 0700
  if (!chmod.ok()) {
    busy_.erase(tmpl);
    ::rmdir(tmpl.c_str());
    return DiskError(chmod);
  }
  return tmpl;
}

absl::Status SnapshotDirs::Place(const std::string& temp, const std::string& id) {
  const std::string path = Path(id);
  absl::MutexLock lock(&mu_);
  if (Exists(path)) {
    log::Warn("moving aside stale snapshot directory", {{"path", path}});
    RETURN_IF_ERROR(RenameForRemovalLocked(path, absl::StrCat("stale-", id)).status());
  }
  return DiskError(sys::Rename(temp, path));
}

absl::StatusOr<std::string> SnapshotDirs::MoveToRemoval(const std::string& id) {
  const std::string path = Path(id);
  absl::MutexLock lock(&mu_);
  if (!Exists(path)) return std::string();
  ASSIGN_OR_RETURN(std::string removal, RenameForRemovalLocked(path, id));
  busy_.insert(removal);
  return removal;
}

void SnapshotDirs::RestoreRemoved(const std::string& removal, const std::string& id) {
  if (removal.empty()) return;
  absl::Status st = sys::Rename(removal, Path(id));
  if (!st.ok()) {
    // The record is still there but its directory is not: the snapshot is broken until removed.
    log::Error("failed to restore snapshot directory after failed removal",
               {{"path", removal}, {"error", st.ToString()}});
  }
  Release(removal);
}

void SnapshotDirs::RemoveAndRelease(const std::string& path) {
  if (path.empty()) return;
  absl::Status st = sys::RemoveAll(path);
  if (!st.ok()) {
    log::Warn("failed to remove snapshot directory", {{"path", path}, {"error", st.ToString()}});
  }
  Release(path);
}

void SnapshotDirs::Release(const std::string& path) {
  absl::MutexLock lock(&mu_);
  busy_.erase(path);
}

absl::StatusOr<std::vector<std::string>> SnapshotDirs::CollectOrphans(
    const std::set<std::string>& ids) {
  absl::StatusOr<std::vector<std::string>> names = sys::ListDir(dir_);
  if (!names.ok()) return DiskError(names.status());
  std::vector<std::string> out;
  absl::MutexLock lock(&mu_);
  for (const std::string& name : *names) {
    const std::string path = Path(name);
    if (ids.contains(name) || busy_.contains(path)) continue;
    std::string removal = path;
    if (!absl::StartsWith(name, "rm-")) {
      ASSIGN_OR_RETURN(removal, RenameForRemovalLocked(path, name));
    }
    busy_.insert(removal);
    out.push_back(std::move(removal));
  }
  return out;
}

absl::StatusOr<std::string> SnapshotDirs::RenameForRemovalLocked(const std::string& path,
                                                                 const std::string& base) {
  std::string removal = absl::StrCat(dir_, "/rm-", base);
  for (int n = 1; Exists(removal) || busy_.contains(removal); ++n) {
    removal = absl::StrCat(dir_, "/rm-", base, "-", n);
  }
  RETURN_IF_ERROR(DiskError(sys::Rename(path, removal)));
  return removal;
}

absl::Status CommitSnapshot(storage::MetaStore& ms, const std::string& name, const std::string& key,
                            const Labels& labels,
                            const std::function<std::string(const std::string& id)>& layer) {
  for (int attempt = 0;; ++attempt) {
    storage::Record r;
    RETURN_IF_ERROR(ms.Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(r, storage::GetInfo(tx, key));
      return absl::OkStatus();
    }));
    snapshots::Usage usage;
    if (r.info.kind == Kind::kActive) {  // anything else fails below, unmeasured
      absl::StatusOr<sys::TreeUsage> du = sys::DiskUsage(layer(r.id));
      if (!du.ok()) return DiskError(du.status());
      usage = {.size = du->size, .inodes = du->inodes};
    }
    bool replaced = false;
    absl::Status st = ms.Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(storage::Record now, storage::GetInfo(tx, key));
      if (now.id != r.id) {
        replaced = true;
        return absl::OkStatus();
      }
      return storage::CommitActive(tx, key, name, usage, labels, absl::Now()).status();
    });
    if (!st.ok()) {
      // containerd reports a missing key unwrapped ("snapshot <key> does not exist").
      if (st.code() == absl::StatusCode::kNotFound) return st;
      return Annotate(st, "failed to commit snapshot");
    }
    if (!replaced) return absl::OkStatus();
    if (attempt == 2) {
      return absl::AbortedError(absl::StrCat("snapshot ", key, " was replaced during commit"));
    }
  }
}

absl::Status RemoveSnapshot(storage::MetaStore& ms, SnapshotDirs& dirs, const std::string& key,
                            bool defer) {
  std::string id, removal;
  absl::Status st = ms.Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Record r, storage::Remove(tx, key));
    id = r.id;
    ASSIGN_OR_RETURN(removal, dirs.MoveToRemoval(r.id));
    return absl::OkStatus();
  });
  if (!st.ok()) {
    // Only the commit can fail after the move: put the directory back with its record.
    dirs.RestoreRemoved(removal, id);
    return Annotate(st, "failed to remove");
  }
  if (defer) {
    dirs.Release(removal);
  } else {
    dirs.RemoveAndRelease(removal);
  }
  return absl::OkStatus();
}

absl::Status CleanupSnapshots(storage::MetaStore& ms, SnapshotDirs& dirs) {
  std::vector<std::string> orphans;
  // A write transaction, so that no snapshot is created or removed while the directory is
  // compared with the records.
  RETURN_IF_ERROR(ms.Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::set<std::string> ids, storage::Ids(tx));
    ASSIGN_OR_RETURN(orphans, dirs.CollectOrphans(ids));
    return absl::OkStatus();
  }));
  for (const std::string& path : orphans) {
    log::Debug("removing unreferenced snapshot directory", {{"path", path}});
    dirs.RemoveAndRelease(path);
  }
  return absl::OkStatus();
}

}  // namespace berth::snapshots
