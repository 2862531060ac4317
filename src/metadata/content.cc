#include "metadata/content.h"

#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/filters.h"
#include "base/labels.h"
#include "base/status.h"
#include "metadata/leases.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

constexpr char kContentResource[] = "content";
constexpr char kIngestResource[] = "ingests";
// An ingest not held by a lease may be removed by GC once this old (containerd's rule).
constexpr absl::Duration kIngestExpiry = absl::Hours(24);
constexpr size_t kCopyChunk = 1 << 20;

absl::Status BlobNotFound(const Digest& digest) {
  return ErrNotFound(absl::StrCat("content digest ", digest.str()));
}
absl::Status RefNotFound(absl::string_view ref) {
  return ErrNotFound(absl::StrCat("reference ", ref));
}

// Reads one row of "SELECT digest, size, labels, created_at, updated_at".
absl::StatusOr<content::Info> ReadInfo(const sqlite::Stmt& stmt) {
  ASSIGN_OR_RETURN(Digest digest, Digest::Parse(stmt.Text(0)));
  ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(stmt.Text(2)));
  return content::Info{.digest = std::move(digest),
                       .size = stmt.Int(1),
                       .created_at = absl::FromUnixNanos(stmt.Int(3)),
                       .updated_at = absl::FromUnixNanos(stmt.Int(4)),
                       .labels = std::move(labels)};
}

absl::StatusOr<std::optional<content::Info>> FindBlob(sqlite::Tx& tx, absl::string_view ns,
                                                      const Digest& digest) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("SELECT digest, size, labels, created_at, updated_at "
                              "FROM content_blobs WHERE namespace = ?1 AND digest = ?2"));
  stmt.Bind(1, ns).Bind(2, digest.str());
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ReadInfo(stmt);
}

struct IngestRecord {
  std::string backend;  // the backend store's ref
  std::optional<Digest> expected;  // set for a shared ingest (no backend writer yet)
};

absl::StatusOr<std::optional<IngestRecord>> FindIngest(sqlite::Tx& tx, absl::string_view ns,
                                                       absl::string_view ref) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT backend, expected FROM content_ingests "
                                                 "WHERE namespace = ?1 AND ref = ?2"));
  stmt.Bind(1, ns).Bind(2, ref);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  IngestRecord record{.backend = stmt.Text(0)};
  if (!stmt.IsNull(1)) {
    ASSIGN_OR_RETURN(record.expected, Digest::Parse(stmt.Text(1)));
  }
  return record;
}

absl::Status DeleteIngest(sqlite::Tx& tx, absl::string_view ns, absl::string_view ref) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("DELETE FROM content_ingests WHERE namespace = ?1 AND ref = ?2"));
  return stmt.Bind(1, ns).Bind(2, ref).Exec();
}

// The backend ref of namespace `ns`'s ingest `ref`: namespaces never share an ingest.
std::string BackendRef(absl::string_view ns, absl::string_view ref) {
  return absl::StrCat(ns, "/", ref);
}

class NamespacedWriter : public content::Writer {
 public:
  NamespacedWriter(sqlite::Database* db, content::Store* backend, absl::Mutex* guard, std::string ns,
                   std::optional<std::string> lease, std::string ref, std::string bref,
                   std::unique_ptr<content::Writer> writer, std::optional<berth::Digest> shared,
                   int64_t shared_size)
      : db_(db),
        backend_(backend),
        guard_(guard),
        ns_(std::move(ns)),
        lease_(std::move(lease)),
        ref_(std::move(ref)),
        bref_(std::move(bref)),
        writer_(std::move(writer)),
        shared_(std::move(shared)),
        shared_size_(shared_size),
        started_(absl::Now()) {}

  absl::Status Write(absl::string_view data) override {
    if (!writer_) {
      if (data.empty()) return absl::OkStatus();
      RETURN_IF_ERROR(Unshare(shared_size_));
    }
    return writer_->Write(data);
  }

  berth::Digest Digest() const override { return writer_ ? writer_->Digest() : *shared_; }

  content::Status Status() const override {
    content::Status st;
    if (writer_) {
      st = writer_->Status();
    } else {
      st.offset = shared_size_;
      st.total = shared_size_;
      st.expected = shared_;
      st.started_at = started_;
      st.updated_at = started_;
    }
    st.ref = ref_;
    return st;
  }

  absl::Status Truncate(int64_t size) override {
    if (writer_) return writer_->Truncate(size);
    return Unshare(size);
  }

  absl::Status Commit(int64_t size, const std::optional<berth::Digest>& expected,
                      const Labels& labels) override {
    RETURN_IF_ERROR(ValidateLabels(labels));
    // From the backend commit to the row's: GC must not remove the blob in between.
    absl::ReaderMutexLock guard(guard_);
    // The writer's digest covers everything written; Commit verifies `expected` against it.
    const berth::Digest actual = Digest();
    if (!writer_) {
      if (size != 0 && size != shared_size_) {
        return ErrFailedPrecondition(absl::StrCat("\"", ref_, "\" failed size validation: ",
                                                  shared_size_, " != ", size));
      }
      if (expected && *expected != *shared_) {
        return ErrFailedPrecondition(absl::StrCat("\"", ref_, "\" unexpected digest"));
      }
      size = shared_size_;
    } else {
      int64_t offset = writer_->Status().offset;
      if (size != 0 && size != offset) {
        return ErrFailedPrecondition(
            absl::StrCat("\"", ref_, "\" failed size validation: ", offset, " != ", size));
      }
      size = offset;
      absl::Status committed = writer_->Commit(size, expected);
      if (!committed.ok() && !absl::IsAlreadyExists(committed)) return committed;
    }
    bool existed = false;
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(EnsureNamespace(tx, ns_));
      int64_t now = absl::ToUnixNanos(absl::Now());
      ASSIGN_OR_RETURN(sqlite::Stmt ins,
                       tx.Prepare("INSERT OR IGNORE INTO content_blobs(namespace, digest, size, "
                                  "labels, created_at, updated_at) VALUES(?1, ?2, ?3, ?4, ?5, ?5)"));
      RETURN_IF_ERROR(ins.Bind(1, ns_)
                          .Bind(2, actual.str())
                          .Bind(3, size)
                          .Bind(4, LabelsToJson(labels))
                          .Bind(5, now)
                          .Exec());
      existed = tx.Changes() == 0;
      RETURN_IF_ERROR(DeleteIngest(tx, ns_, ref_));
      RETURN_IF_ERROR(RemoveFromLease(tx, ns_, lease_, kIngestResource, ref_));
      return AddToLease(tx, ns_, lease_, kContentResource, actual.str());
    }));
    if (existed) return ErrAlreadyExists(absl::StrCat("content ", actual.str()));
    return absl::OkStatus();
  }

  absl::Status Close() override { return writer_ ? writer_->Close() : absl::OkStatus(); }

 private:
  // A shared ingest becomes a real one: the backend blob's first `size` bytes are copied into a
  // backend ingest so that writes can continue from there.
  absl::Status Unshare(int64_t size) {
    ASSIGN_OR_RETURN(std::unique_ptr<content::Writer> w,
                     backend_->Writer(bref_, shared_size_, std::nullopt));
    for (int64_t offset = 0; offset < size;) {
      size_t n = static_cast<size_t>(std::min<int64_t>(kCopyChunk, size - offset));
      ASSIGN_OR_RETURN(std::string chunk, backend_->ReadAt(*shared_, offset, n));
      if (chunk.empty()) break;
      RETURN_IF_ERROR(w->Write(chunk));
      offset += static_cast<int64_t>(chunk.size());
    }
    writer_ = std::move(w);
    return absl::OkStatus();
  }

  sqlite::Database* const db_;
  content::Store* const backend_;
  absl::Mutex* const guard_;
  const std::string ns_;
  const std::optional<std::string> lease_;
  const std::string ref_;
  const std::string bref_;
  std::unique_ptr<content::Writer> writer_;  // null while the ingest is shared
  const std::optional<berth::Digest> shared_;
  const int64_t shared_size_;
  const absl::Time started_;
};

class NamespacedContent : public content::Store {
 public:
  NamespacedContent(sqlite::Database* db, content::Store* backend, absl::Mutex* guard,
                    std::string ns, std::optional<std::string> lease)
      : db_(db), backend_(backend), guard_(guard), ns_(std::move(ns)), lease_(std::move(lease)) {}

  absl::StatusOr<content::Info> Info(const Digest& digest) override {
    std::optional<content::Info> info;
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(info, FindBlob(tx, ns_, digest));
      return absl::OkStatus();
    }));
    if (!info) return BlobNotFound(digest);
    return *std::move(info);
  }

  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       std::span<const std::string> fieldpaths) override {
    std::optional<content::Info> updated;
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(updated, FindBlob(tx, ns_, info.digest));
      if (!updated) return BlobNotFound(info.digest);
      Labels& labels = updated->labels;
      if (fieldpaths.empty()) labels = info.labels;
      for (const std::string& path : fieldpaths) {
        if (path == "labels") {
          labels = info.labels;
        } else if (absl::StartsWith(path, "labels.")) {
          ApplyLabelPath(labels, path.substr(7), info.labels);
        } else {
          return ErrInvalidArgument(absl::StrCat("cannot update \"", path,
                                                 "\" field on content info \"",
                                                 info.digest.str(), "\""));
        }
      }
      labels = WithoutEmptyValues(labels);
      RETURN_IF_ERROR(ValidateLabels(labels));
      updated->updated_at = absl::Now();
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("UPDATE content_blobs SET labels = ?3, updated_at = ?4 "
                                  "WHERE namespace = ?1 AND digest = ?2"));
      return stmt.Bind(1, ns_)
          .Bind(2, info.digest.str())
          .Bind(3, LabelsToJson(labels))
          .Bind(4, absl::ToUnixNanos(updated->updated_at))
          .Exec();
    }));
    return *std::move(updated);
  }

  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters_in) override {
    ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(filters_in));
    std::vector<content::Info> infos;
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                       tx.Prepare("SELECT digest, size, labels, created_at, updated_at FROM "
                                  "content_blobs WHERE namespace = ?1 ORDER BY digest"));
      stmt.Bind(1, ns_);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) return absl::OkStatus();
        ASSIGN_OR_RETURN(content::Info info, ReadInfo(stmt));
        if (content::MatchInfo(filter, info)) infos.push_back(std::move(info));
      }
    }));
    // Outside the transaction: `fn` may stream to a client at its own pace.
    for (const content::Info& info : infos) RETURN_IF_ERROR(fn(info));
    return absl::OkStatus();
  }

  absl::Status Delete(const Digest& digest) override {
    return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("DELETE FROM content_blobs "
                                                     "WHERE namespace = ?1 AND digest = ?2"));
      RETURN_IF_ERROR(stmt.Bind(1, ns_).Bind(2, digest.str()).Exec());
      if (tx.Changes() == 0) return BlobNotFound(digest);
      return RemoveFromLease(tx, ns_, lease_, kContentResource, digest.str());
    });
  }

  absl::StatusOr<std::string> ReadAt(const Digest& digest, int64_t offset,
                                     size_t size) override {
    RETURN_IF_ERROR(Info(digest).status());
    return backend_->ReadAt(digest, offset, size);
  }

  absl::StatusOr<sys::UniqueFd> OpenBlob(const Digest& digest) override {
    RETURN_IF_ERROR(Info(digest).status());
    return backend_->OpenBlob(digest);
  }

  absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total, const std::optional<Digest>& expected) override {
    if (ref.empty()) return ErrInvalidArgument("ref must not be empty");
    bool exists = false;
    std::optional<Digest> shared;
    int64_t shared_size = 0;
    std::string bref = BackendRef(ns_, ref);
    std::unique_ptr<content::Writer> writer;
    // The backend blob found for a shared ingest, and the backend ingest opened, must not be
    // collected before the ingest's row is committed.
    absl::ReaderMutexLock guard(guard_);
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      if (expected) {
        ASSIGN_OR_RETURN(std::optional<content::Info> have, FindBlob(tx, ns_, *expected));
        if (have) {
          // Keep the blob for this lease: the client is about to rely on it.
          exists = true;
          return AddToLease(tx, ns_, lease_, kContentResource, expected->str());
        }
        absl::StatusOr<content::Info> backend_info = backend_->Info(*expected);
        if (backend_info.ok() && (total == 0 || total == backend_info->size)) {
          shared = *expected;
          shared_size = backend_info->size;
        }
      }
      RETURN_IF_ERROR(EnsureNamespace(tx, ns_));
      ASSIGN_OR_RETURN(std::optional<IngestRecord> prior, FindIngest(tx, ns_, ref));
      if (prior) bref = prior->backend;
      std::optional<int64_t> expires_at;
      if (!lease_) expires_at = absl::ToUnixNanos(absl::Now() + kIngestExpiry);
      RETURN_IF_ERROR(AddToLease(tx, ns_, lease_, kIngestResource, ref));
      ASSIGN_OR_RETURN(sqlite::Stmt up,
                       tx.Prepare("INSERT INTO content_ingests(namespace, ref, backend, expected, "
                                  "expires_at) VALUES(?1, ?2, ?3, ?4, ?5) "
                                  "ON CONFLICT(namespace, ref) DO UPDATE SET "
                                  "expected = ?4, expires_at = ?5"));
      up.Bind(1, ns_).Bind(2, ref).Bind(3, bref);
      if (shared) {
        up.Bind(4, shared->str());
      } else {
        up.BindNull(4);
      }
      if (expires_at) {
        up.Bind(5, *expires_at);
      } else {
        up.BindNull(5);
      }
      RETURN_IF_ERROR(up.Exec());
      if (!shared) {
        // The expected digest was checked against this namespace above; the backend must not
        // refuse the write because another namespace holds the blob.
        ASSIGN_OR_RETURN(writer, backend_->Writer(bref, total, std::nullopt));
      }
      return absl::OkStatus();
    }));
    if (exists) return ErrAlreadyExists(absl::StrCat("content ", expected->str()));
    return std::make_unique<NamespacedWriter>(db_, backend_, guard_, ns_, lease_, ref, bref,
                                              std::move(writer), shared, shared_size);
  }

  absl::StatusOr<content::Status> Status(const std::string& ref) override {
    std::optional<IngestRecord> record;
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(record, FindIngest(tx, ns_, ref));
      return absl::OkStatus();
    }));
    if (!record) return RefNotFound(ref);
    ASSIGN_OR_RETURN(content::Status st, backend_->Status(record->backend));
    st.ref = ref;
    return st;
  }

  absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters_in) override {
    ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(filters_in));
    std::vector<std::pair<std::string, std::string>> refs;  // (ref, backend ref)
    RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT ref, backend FROM content_ingests "
                                                     "WHERE namespace = ?1 ORDER BY ref"));
      stmt.Bind(1, ns_);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) return absl::OkStatus();
        refs.emplace_back(stmt.Text(0), stmt.Text(1));
      }
    }));
    std::vector<content::Status> out;
    for (auto& [ref, bref] : refs) {
      absl::StatusOr<content::Status> st = backend_->Status(bref);
      if (absl::IsNotFound(st.status())) continue;  // shared, or removed meanwhile
      RETURN_IF_ERROR(st.status());
      st->ref = ref;
      if (content::MatchStatus(filter, *st)) out.push_back(*std::move(st));
    }
    return out;
  }

  absl::Status Abort(const std::string& ref) override {
    std::optional<IngestRecord> record;
    RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(record, FindIngest(tx, ns_, ref));
      if (!record) return RefNotFound(ref);
      RETURN_IF_ERROR(DeleteIngest(tx, ns_, ref));
      return RemoveFromLease(tx, ns_, lease_, kIngestResource, ref);
    }));
    if (record->expected) return absl::OkStatus();  // shared: no backend ingest
    absl::Status st = backend_->Abort(record->backend);
    // Never written to the backend (or already gone): the record was all there was.
    if (absl::IsNotFound(st)) return absl::OkStatus();
    return st;
  }

 private:
  sqlite::Database* const db_;
  content::Store* const backend_;
  absl::Mutex* const guard_;
  const std::string ns_;
  const std::optional<std::string> lease_;
};

}  // namespace

std::unique_ptr<content::Store> ContentStore::View(std::string ns,
                                                   std::optional<std::string> lease) {
  return std::make_unique<NamespacedContent>(db_, backend_, &gc_guard_, std::move(ns),
                                             std::move(lease));
}

}  // namespace berth::metadata
