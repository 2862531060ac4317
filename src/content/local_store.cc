#include "content/local_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "base/filters.h"
#include "base/status.h"
#include "content/digester.h"
#include "sys/file.h"
#include "sys/fs.h"

namespace berth::content {

// The refs held by open Writers. Shared by the store and its writers.
class LocalStore::RefLocks {
 public:
  // Unavailable "ref <ref> locked: unavailable" if already held.
  absl::Status TryLock(const std::string& ref) {
    absl::MutexLock lock(&mu_);
    if (!held_.insert(ref).second) return ErrUnavailable(absl::StrCat("ref ", ref, " locked"));
    return absl::OkStatus();
  }
  void Unlock(const std::string& ref) {
    absl::MutexLock lock(&mu_);
    held_.erase(ref);
  }

 private:
  absl::Mutex mu_;
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);
};

namespace {

constexpr mode_t kDirMode = 0755;
constexpr size_t kReadChunk = 1 << 20;

std::string BlobPathIn(const std::string& root, const berth::Digest& d) {
  return absl::StrCat(root, "/blobs/", d.algorithm(), "/", d.hex());
}
std::string LabelsPathIn(const std::string& root, const berth::Digest& d) {
  return absl::StrCat(root, "/labels/", d.algorithm(), "/", d.hex());
}

absl::Status BlobNotFound(const berth::Digest& d) {
  return ErrNotFound(absl::StrCat("content digest ", d.str()));
}
absl::Status IngestNotFound(absl::string_view ref) {
  return ErrNotFound(absl::StrCat("ingest ref \"", ref, "\""));
}

std::string TimeText(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}
absl::StatusOr<absl::Time> ReadTimeFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, absl::StripAsciiWhitespace(text), &t, &err)) {
    return absl::DataLossError(absl::StrCat("could not parse timestamp file ", path, ": ", err));
  }
  return t;
}

absl::Time Mtime(const struct stat& st) { return absl::TimeFromTimespec(st.st_mtim); }

bool Exists(const std::string& path) { return sys::Stat(path).ok(); }

class LocalWriter : public Writer {
 public:
  LocalWriter(std::string root, std::shared_ptr<LocalStore::RefLocks> locks, content::Status status,
              std::string dir, sys::UniqueFd fd, std::unique_ptr<Digester> digester)
      : root_(std::move(root)),
        locks_(std::move(locks)),
        status_(std::move(status)),
        dir_(std::move(dir)),
        fd_(std::move(fd)),
        digester_(std::move(digester)) {}

  // Dropping a Writer without Close is what a crash leaves behind: the ingest stays, resumable.
  ~LocalWriter() override { Release(); }

  absl::Status Write(absl::string_view data) override {
    RETURN_IF_ERROR(CheckOpen());
    RETURN_IF_ERROR(sys::WriteAll(fd_.get(), data, DataPath()));
    digester_->Update(data);
    status_.offset += static_cast<int64_t>(data.size());
    status_.updated_at = absl::Now();
    return absl::OkStatus();
  }

  berth::Digest Digest() const override { return digester_->Current(); }
  content::Status Status() const override { return status_; }

  absl::Status Truncate(int64_t size) override {
    RETURN_IF_ERROR(CheckOpen());
    if (size != 0) {
      return ErrInvalidArgument(absl::StrCat("truncate to ", size, " not supported"));
    }
    if (::ftruncate(fd_.get(), 0) != 0) {
      return ErrnoError(errno, absl::StrCat("truncate ", DataPath()));
    }
    digester_->Reset();
    status_.offset = 0;
    status_.updated_at = absl::Now();
    return absl::OkStatus();
  }

  absl::Status Commit(int64_t size, const std::optional<berth::Digest>& expected,
                      const Labels& labels) override {
    if (!fd_.valid()) return ErrFailedPrecondition("cannot commit on closed writer");
    RETURN_IF_ERROR(ValidateLabels(labels));
    RETURN_IF_ERROR(sys::Fsync(fd_.get(), DataPath()));
    ASSIGN_OR_RETURN(struct stat st, sys::FStat(fd_.get(), DataPath()));
    // As containerd: the file is closed even when verification fails; the ingest stays on disk
    // and a new Writer on the ref resumes it.
    fd_.reset();
    absl::Status verified = Verify(st.st_size, size, expected);
    if (!verified.ok()) {
      absl::Status persisted = PersistUpdatedAt();
      Release();
      return persisted.ok() ? verified : persisted;
    }
    berth::Digest dgst = digester_->Current();
    std::string target = BlobPathIn(root_, dgst);
    std::string parent = sys::Dirname(target);
    absl::Status result = sys::MakeDirs(parent, kDirMode);
    if (result.ok() && Exists(target)) {
      result = ErrAlreadyExists(absl::StrCat("content ", dgst.str()));
      if (absl::Status rm = sys::RemoveAll(dir_); !rm.ok()) result = rm;
    } else if (result.ok()) {
      result = Place(dgst, target, parent, labels);
    }
    Release();
    return result;
  }

  absl::Status Close() override {
    if (!fd_.valid()) {
      Release();
      return absl::OkStatus();
    }
    fd_.reset();
    absl::Status st = PersistUpdatedAt();
    Release();
    return st;
  }

 private:
  std::string DataPath() const { return absl::StrCat(dir_, "/data"); }

  absl::Status CheckOpen() const {
    if (!fd_.valid()) return ErrFailedPrecondition("writer is closed");
    return absl::OkStatus();
  }

  absl::Status Verify(int64_t actual_size, int64_t size,
                      const std::optional<berth::Digest>& expected) const {
    if (size > 0 && size != actual_size) {
      return ErrFailedPrecondition(
          absl::StrCat("unexpected commit size ", actual_size, ", expected ", size));
    }
    if (expected.has_value()) {
      berth::Digest dgst = digester_->Current();
      if (!(dgst == *expected)) {
        return ErrFailedPrecondition(
            absl::StrCat("unexpected commit digest ", dgst.str(), ", expected ", expected->str()));
      }
    }
    return absl::OkStatus();
  }

  // Moves the data into place: the rename is the commit point, and the directory fsync makes it
  // survive a power loss.
  absl::Status Place(const berth::Digest& dgst, const std::string& target,
                     const std::string& parent, const Labels& labels) {
    // Labels go first so that a visible blob always has them; a failed rename takes them back.
    std::string lpath = LabelsPathIn(root_, dgst);
    if (!labels.empty()) {
      RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(lpath), kDirMode));
      RETURN_IF_ERROR(sys::WriteFileAtomic(lpath, LabelsToJson(labels), 0644));
    }
    if (absl::Status renamed = sys::Rename(DataPath(), target); !renamed.ok()) {
      if (!labels.empty()) (void)sys::RemoveAll(lpath);
      return renamed;
    }
    RETURN_IF_ERROR(sys::FsyncDir(parent));
    // Blobs are immutable; a failure here leaves a correct, committed blob.
    (void)sys::Chmod(target, 0444);
    return sys::RemoveAll(dir_);
  }

  absl::Status PersistUpdatedAt() {
    return sys::WriteFile(absl::StrCat(dir_, "/updatedat"), TimeText(status_.updated_at), 0644);
  }

  void Release() {
    fd_.reset();
    if (!released_) locks_->Unlock(status_.ref);
    released_ = true;
  }

  const std::string root_;
  const std::shared_ptr<LocalStore::RefLocks> locks_;
  content::Status status_;
  const std::string dir_;
  sys::UniqueFd fd_;
  std::unique_ptr<Digester> digester_;
  bool released_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root) {
  RETURN_IF_ERROR(sys::MakeDirs(absl::StrCat(root, "/blobs"), kDirMode));
  RETURN_IF_ERROR(sys::MakeDirs(absl::StrCat(root, "/ingest"), kDirMode));
  return std::unique_ptr<LocalStore>(new LocalStore(root, std::make_shared<RefLocks>()));
}

LocalStore::LocalStore(std::string root, std::shared_ptr<RefLocks> locks)
    : root_(std::move(root)), locks_(std::move(locks)) {}

std::string LocalStore::BlobPath(const berth::Digest& digest) const {
  return BlobPathIn(root_, digest);
}
std::string LocalStore::LabelsPath(const berth::Digest& digest) const {
  return LabelsPathIn(root_, digest);
}
std::string LocalStore::IngestPath(const std::string& ref) const {
  return absl::StrCat(root_, "/ingest/", Digester::FromBytes(ref).hex());
}

absl::StatusOr<Labels> LocalStore::ReadLabels(const berth::Digest& digest,
                                              absl::Time* labels_mtime) const {
  std::string path = LabelsPath(digest);
  absl::StatusOr<struct stat> st = sys::Stat(path);
  if (absl::IsNotFound(st.status())) return Labels();
  RETURN_IF_ERROR(st.status());
  *labels_mtime = Mtime(*st);
  ASSIGN_OR_RETURN(std::string json, sys::ReadFile(path));
  return LabelsFromJson(json);
}

absl::StatusOr<content::Info> LocalStore::InfoFromPath(const berth::Digest& digest,
                                                       const std::string& path) const {
  absl::StatusOr<struct stat> st = sys::Stat(path);
  if (absl::IsNotFound(st.status())) return BlobNotFound(digest);
  RETURN_IF_ERROR(st.status());
  absl::Time labels_mtime = absl::InfinitePast();
  ASSIGN_OR_RETURN(Labels labels, ReadLabels(digest, &labels_mtime));
  absl::Time created = Mtime(*st);
  return content::Info{.digest = digest,
                       .size = static_cast<int64_t>(st->st_size),
                       .created_at = created,
                       .updated_at = std::max(created, labels_mtime),
                       .labels = std::move(labels)};
}

absl::StatusOr<content::Info> LocalStore::Info(const berth::Digest& digest) {
  return InfoFromPath(digest, BlobPath(digest));
}

absl::StatusOr<content::Info> LocalStore::Update(const content::Info& info,
                                                 std::span<const std::string> fieldpaths) {
  ASSIGN_OR_RETURN(content::Info current, Info(info.digest));
  Labels labels;
  if (fieldpaths.empty()) {
    labels = info.labels;
  } else {
    labels = current.labels;
    for (const std::string& path : fieldpaths) {
      if (path == "labels") {
        labels = info.labels;
      } else if (absl::string_view key = path; absl::ConsumePrefix(&key, "labels.")) {
        auto it = info.labels.find(std::string(key));
        if (it == info.labels.end()) {
          labels.erase(std::string(key));
        } else {
          labels[std::string(key)] = it->second;
        }
      } else {
        return ErrInvalidArgument(absl::StrCat(
            "cannot update \"", path, "\" field on content info \"", info.digest.str(), "\""));
      }
    }
  }
  RETURN_IF_ERROR(ValidateLabels(labels));
  std::string lpath = LabelsPath(info.digest);
  if (labels.empty()) {
    RETURN_IF_ERROR(sys::RemoveAll(lpath));
  } else {
    RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(lpath), kDirMode));
    RETURN_IF_ERROR(sys::WriteFileAtomic(lpath, LabelsToJson(labels), 0644));
  }
  ASSIGN_OR_RETURN(content::Info updated, Info(info.digest));
  // An emptied label set has no sidecar to date the change.
  updated.updated_at = std::max(updated.updated_at, absl::Now());
  return updated;
}

absl::Status LocalStore::Walk(const WalkFn& fn, std::span<const std::string> filters_in) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(filters_in));
  std::string blobs = absl::StrCat(root_, "/blobs");
  ASSIGN_OR_RETURN(std::vector<std::string> algs, sys::ListDir(blobs));
  for (const std::string& alg : algs) {
    std::string dir = absl::StrCat(blobs, "/", alg);
    absl::StatusOr<struct stat> st = sys::Stat(dir);
    if (st.ok() && !S_ISDIR(st->st_mode)) continue;  // a stray file, not an algorithm
    ASSIGN_OR_RETURN(std::vector<std::string> names, sys::ListDir(dir));
    for (const std::string& name : names) {
      // Anything that is not a valid digest (a stray file, an unknown algorithm) is skipped, as
      // containerd does.
      absl::StatusOr<berth::Digest> dgst = berth::Digest::Parse(absl::StrCat(alg, ":", name));
      if (!dgst.ok()) continue;
      absl::StatusOr<content::Info> info = InfoFromPath(*dgst, absl::StrCat(dir, "/", name));
      if (absl::IsNotFound(info.status())) continue;  // deleted while walking
      RETURN_IF_ERROR(info.status());
      if (!MatchInfo(filter, *info)) continue;
      RETURN_IF_ERROR(fn(*info));
    }
  }
  return absl::OkStatus();
}

absl::Status LocalStore::Delete(const berth::Digest& digest) {
  absl::Status st = sys::Unlink(BlobPath(digest));
  if (absl::IsNotFound(st)) return BlobNotFound(digest);
  RETURN_IF_ERROR(st);
  return sys::RemoveAll(LabelsPath(digest));
}

absl::StatusOr<std::string> LocalStore::ReadAt(const berth::Digest& digest, int64_t offset,
                                               size_t size) {
  if (offset < 0) return ErrInvalidArgument(absl::StrCat("negative offset ", offset));
  std::string path = BlobPath(digest);
  absl::StatusOr<sys::UniqueFd> fd = sys::Open(path, O_RDONLY);
  if (absl::IsNotFound(fd.status())) return BlobNotFound(digest);
  RETURN_IF_ERROR(fd.status());
  return sys::ReadAt(fd->get(), offset, size, path);
}

absl::StatusOr<sys::UniqueFd> LocalStore::OpenBlob(const berth::Digest& digest) {
  absl::StatusOr<sys::UniqueFd> fd = sys::Open(BlobPath(digest), O_RDONLY | O_CLOEXEC);
  if (absl::IsNotFound(fd.status())) return BlobNotFound(digest);
  return fd;
}

absl::StatusOr<std::unique_ptr<content::Writer>> LocalStore::Writer(
    const std::string& ref, int64_t total, const std::optional<berth::Digest>& expected) {
  if (ref.empty()) return ErrInvalidArgument("ref must not be empty");
  // containerd retries a held lock ten times over ~1s; berth reports it at once and lets the
  // client retry, which is what containerd's clients do after that second anyway.
  RETURN_IF_ERROR(locks_->TryLock(ref));
  bool ok = false;
  struct Unlocker {
    RefLocks* locks;
    const std::string& ref;
    bool& ok;
    ~Unlocker() {
      if (!ok) locks->Unlock(ref);
    }
  } unlocker{locks_.get(), ref, ok};

  if (expected.has_value() && Exists(BlobPath(*expected))) {
    return ErrAlreadyExists(absl::StrCat("content ", expected->str()));
  }
  std::string dir = IngestPath(ref);
  std::string data = absl::StrCat(dir, "/data");
  auto digester = std::make_unique<Digester>();
  content::Status status;
  bool resumed = false;
  absl::Status mk = sys::Mkdir(dir, kDirMode);
  if (absl::IsAlreadyExists(mk)) {
    absl::StatusOr<content::Status> prior = StatusFromDir(dir);
    absl::Status usable = prior.status();
    if (usable.ok() && prior->ref != ref) {
      // Either layout corruption or a sha256 collision of refs: never mix two refs' data.
      usable =
          absl::DataLossError(absl::StrCat("ref key does not match: ", ref, " != ", prior->ref));
    }
    if (usable.ok() && total > 0 && prior->total > 0 && total != prior->total) {
      return ErrFailedPrecondition(
          absl::StrCat("provided total differs from status: ", total, " != ", prior->total));
    }
    if (usable.ok()) {
      // No resumable hash state is kept on disk: re-read what was written.
      ASSIGN_OR_RETURN(sys::UniqueFd in, sys::Open(data, O_RDONLY));
      int64_t offset = 0;
      for (;;) {
        ASSIGN_OR_RETURN(std::string chunk, sys::ReadAt(in.get(), offset, kReadChunk, data));
        if (chunk.empty()) break;
        digester->Update(chunk);
        offset += static_cast<int64_t>(chunk.size());
      }
      status = *std::move(prior);
      status.offset = offset;
      if (total > 0) status.total = total;
      resumed = true;
    } else {
      // As containerd: an unreadable ingest is started afresh.
      RETURN_IF_ERROR(sys::RemoveAll(dir));
      RETURN_IF_ERROR(sys::Mkdir(dir, kDirMode));
    }
  } else {
    RETURN_IF_ERROR(mk);
  }
  if (!resumed) {
    absl::Time now = absl::Now();
    status = content::Status{
        .ref = ref, .offset = 0, .total = total, .started_at = now, .updated_at = now};
    RETURN_IF_ERROR(sys::WriteFile(absl::StrCat(dir, "/ref"), ref, 0644));
    RETURN_IF_ERROR(sys::WriteFile(absl::StrCat(dir, "/startedat"), TimeText(now), 0644));
    RETURN_IF_ERROR(sys::WriteFile(absl::StrCat(dir, "/updatedat"), TimeText(now), 0644));
    if (total > 0) {
      RETURN_IF_ERROR(sys::WriteFile(absl::StrCat(dir, "/total"), absl::StrCat(total), 0644));
    }
  }
  status.expected = expected;
  ASSIGN_OR_RETURN(sys::UniqueFd fd, sys::Open(data, O_WRONLY | O_CREAT | O_APPEND, 0644));
  ok = true;
  return std::unique_ptr<content::Writer>(new LocalWriter(
      root_, locks_, std::move(status), std::move(dir), std::move(fd), std::move(digester)));
}

absl::StatusOr<content::Status> LocalStore::StatusFromDir(const std::string& dir) const {
  content::Status status;
  ASSIGN_OR_RETURN(status.ref, sys::ReadFile(absl::StrCat(dir, "/ref")));
  ASSIGN_OR_RETURN(struct stat st, sys::Stat(absl::StrCat(dir, "/data")));
  status.offset = static_cast<int64_t>(st.st_size);
  ASSIGN_OR_RETURN(status.started_at, ReadTimeFile(absl::StrCat(dir, "/startedat")));
  ASSIGN_OR_RETURN(status.updated_at, ReadTimeFile(absl::StrCat(dir, "/updatedat")));
  // The updatedat file is written on open and close; writes in between show in data's mtime.
  status.updated_at = std::max(status.updated_at, Mtime(st));
  absl::StatusOr<std::string> total = sys::ReadFile(absl::StrCat(dir, "/total"));
  if (total.ok()) {
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(*total), &status.total)) {
      return absl::DataLossError(absl::StrCat("invalid total in ", dir));
    }
  } else if (!absl::IsNotFound(total.status())) {
    return total.status();
  }
  return status;
}

absl::StatusOr<content::Status> LocalStore::Status(const std::string& ref) {
  std::string dir = IngestPath(ref);
  absl::StatusOr<content::Status> status = StatusFromDir(dir);
  if (absl::IsNotFound(status.status())) return IngestNotFound(ref);
  return status;
}

absl::StatusOr<std::vector<content::Status>> LocalStore::ListStatuses(
    std::span<const std::string> filters_in) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(filters_in));
  std::string ingest = absl::StrCat(root_, "/ingest");
  ASSIGN_OR_RETURN(std::vector<std::string> names, sys::ListDir(ingest));
  std::vector<content::Status> out;
  for (const std::string& name : names) {
    absl::StatusOr<content::Status> status = StatusFromDir(absl::StrCat(ingest, "/", name));
    // An ingest being created or removed concurrently is skipped, as in containerd.
    if (!status.ok()) continue;
    if (MatchStatus(filter, *status)) out.push_back(*std::move(status));
  }
  std::sort(out.begin(), out.end(),
            [](const content::Status& a, const content::Status& b) { return a.ref < b.ref; });
  return out;
}

absl::Status LocalStore::Abort(const std::string& ref) {
  std::string dir = IngestPath(ref);
  if (!Exists(dir)) return IngestNotFound(ref);
  return sys::RemoveAll(dir);
}

}  // namespace berth::content
