#include "metadata/leases.h"

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/digest.h"
#include "base/filters.h"
#include "base/status.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

absl::Status LeaseNotFound(absl::string_view id) {
  return ErrNotFound(absl::StrCat("lease \"", id, "\""));
}

absl::StatusOr<bool> Exists(sqlite::Tx& tx, absl::string_view ns, absl::string_view id) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("SELECT 1 FROM leases WHERE namespace = ?1 AND id = ?2"));
  stmt.Bind(1, ns).Bind(2, id);
  return stmt.Step();
}

// Validates and normalizes a resource like containerd's parseLeaseResource.
absl::StatusOr<LeaseResource> ParseResource(const LeaseResource& r) {
  std::vector<absl::string_view> keys = absl::StrSplit(r.type, '/');
  LeaseResource out = r;
  if (keys[0] == "content" || keys[0] == "ingests") {
    if (keys.size() != 1) return ErrInvalidArgument(absl::StrCat("invalid resource type ", r.type));
    if (keys[0] == "content") {
      auto digest = Digest::Parse(r.id);
      if (!digest.ok()) {
        return ErrInvalidArgument(absl::StrCat("invalid content resource id ", r.id, ": ",
                                               digest.status().message()));
      }
      out.id = digest->str();
    }
  } else if (keys[0] == "snapshots") {
    if (keys.size() != 2 || keys[1].empty()) {
      return ErrInvalidArgument(absl::StrCat("invalid snapshot resource type ", r.type));
    }
  } else {
    return ErrNotImplemented(absl::StrCat("resource type ", r.type, " not supported yet"));
  }
  return out;
}

}  // namespace

absl::Status AddToLease(sqlite::Tx& tx, absl::string_view ns,
                        const std::optional<std::string>& lease, absl::string_view type,
                        absl::string_view id) {
  if (!lease) return absl::OkStatus();
  ASSIGN_OR_RETURN(bool exists, Exists(tx, ns, *lease));
  if (!exists) return ErrNotFound("lease does not exist");
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("INSERT OR IGNORE INTO lease_resources(namespace, lease, type, id) "
                              "VALUES(?1, ?2, ?3, ?4)"));
  return stmt.Bind(1, ns).Bind(2, *lease).Bind(3, type).Bind(4, id).Exec();
}

absl::Status RemoveFromLease(sqlite::Tx& tx, absl::string_view ns,
                             const std::optional<std::string>& lease, absl::string_view type,
                             absl::string_view id) {
  if (!lease) return absl::OkStatus();
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("DELETE FROM lease_resources WHERE namespace = ?1 AND lease = ?2 "
                              "AND type = ?3 AND id = ?4"));
  return stmt.Bind(1, ns).Bind(2, *lease).Bind(3, type).Bind(4, id).Exec();
}

std::string RandomLeaseId() {
  // containerd's form: the clock's nanoseconds, '-', 3 random bytes in URL-safe base64.
  absl::Time now = absl::Now();
  uint8_t b[3];
  absl::BitGen gen;
  for (uint8_t& c : b) c = absl::Uniform<uint8_t>(gen);
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(b), sizeof(b)), &encoded);
  return absl::StrCat(absl::ToUnixNanos(now) % 1000000000, "-", encoded);
}

std::optional<absl::Time> LeaseExpiry(const Labels& labels) {
  auto it = labels.find(kLabelGcExpire);
  if (it == labels.end()) return std::nullopt;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, it->second, &t, &err)) return std::nullopt;
  return t;
}

absl::StatusOr<Lease> LeaseStore::Create(absl::string_view ns, absl::string_view id,
                                         const Labels& labels) {
  // containerd does not hold lease ids to the identifier rules (clients use '/' and ':' in
  // them); they never reach the file system here either.
  if (id.empty()) return ErrInvalidArgument("lease id must be provided");
  RETURN_IF_ERROR(Annotate(ValidateLabels(labels), "lease.Labels"));
  Lease lease{
      .id = std::string(id), .created_at = absl::Now(), .labels = WithoutEmptyValues(labels)};
  std::optional<absl::Time> expiry = LeaseExpiry(lease.labels);
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(EnsureNamespace(tx, ns));
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("INSERT OR IGNORE INTO leases(namespace, id, labels, created_at, "
                                "expires_at) VALUES(?1, ?2, ?3, ?4, ?5)"));
    stmt.Bind(1, ns).Bind(2, id).Bind(3, LabelsToJson(lease.labels));
    stmt.Bind(4, absl::ToUnixNanos(lease.created_at));
    if (expiry) {
      stmt.Bind(5, absl::ToUnixNanos(*expiry));
    } else {
      stmt.BindNull(5);
    }
    RETURN_IF_ERROR(stmt.Exec());
    if (tx.Changes() == 0) return ErrAlreadyExists(absl::StrCat("lease \"", id, "\""));
    return absl::OkStatus();
  }));
  return lease;
}

absl::Status LeaseStore::Delete(absl::string_view ns, absl::string_view id) {
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("DELETE FROM leases WHERE namespace = ?1 AND id = ?2"));
    RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, id).Exec());
    if (tx.Changes() == 0) return LeaseNotFound(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Lease>> LeaseStore::List(absl::string_view ns,
                                                    std::span<const std::string> fs) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(fs));
  std::vector<Lease> out;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT id, labels, created_at FROM leases "
                                           "WHERE namespace = ?1 ORDER BY created_at, id"));
    stmt.Bind(1, ns);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      Lease lease{.id = stmt.Text(0), .created_at = absl::FromUnixNanos(stmt.Int(2))};
      ASSIGN_OR_RETURN(lease.labels, LabelsFromJson(stmt.Text(1)));
      if (!filter.MatchesAll()) {
        auto adaptor = filters::LabelsAdaptor(
            [&lease](absl::string_view field) -> std::optional<std::string> {
              if (field == "id") return lease.id;
              return std::nullopt;
            },
            &lease.labels);
        if (!filter.Match(adaptor)) continue;
      }
      out.push_back(std::move(lease));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::Status LeaseStore::AddResource(absl::string_view ns, absl::string_view id,
                                     const LeaseResource& r) {
  ASSIGN_OR_RETURN(LeaseResource resource, ParseResource(r));
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, Exists(tx, ns, id));
    if (!exists) return LeaseNotFound(id);
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("INSERT OR IGNORE INTO lease_resources(namespace, "
                                           "lease, type, id) VALUES(?1, ?2, ?3, ?4)"));
    return stmt.Bind(1, ns).Bind(2, id).Bind(3, resource.type).Bind(4, resource.id).Exec();
  });
}

absl::Status LeaseStore::DeleteResource(absl::string_view ns, absl::string_view id,
                                        const LeaseResource& r) {
  ASSIGN_OR_RETURN(LeaseResource resource, ParseResource(r));
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, Exists(tx, ns, id));
    if (!exists) return LeaseNotFound(id);
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("DELETE FROM lease_resources WHERE namespace = ?1 AND "
                                           "lease = ?2 AND type = ?3 AND id = ?4"));
    return stmt.Bind(1, ns).Bind(2, id).Bind(3, resource.type).Bind(4, resource.id).Exec();
  });
}

absl::StatusOr<std::vector<LeaseResource>> LeaseStore::ListResources(absl::string_view ns,
                                                                     absl::string_view id) {
  std::vector<LeaseResource> out;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, Exists(tx, ns, id));
    if (!exists) return LeaseNotFound(id);
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT type, id FROM lease_resources "
                                           "WHERE namespace = ?1 AND lease = ?2 ORDER BY type, id"));
    stmt.Bind(1, ns).Bind(2, id);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      out.push_back(LeaseResource{.id = stmt.Text(1), .type = stmt.Text(0)});
    }
  }));
  return out;
}

absl::Status LeaseStore::Check(absl::string_view ns, absl::string_view id) {
  return db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(bool exists, Exists(tx, ns, id));
    if (!exists) return LeaseNotFound(id);
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> LeaseStore::DeleteExpired(
    absl::Time now) {
  std::vector<std::pair<std::string, std::string>> expired;
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt sel, tx.Prepare("SELECT namespace, id FROM leases "
                                          "WHERE expires_at IS NOT NULL AND expires_at <= ?1"));
    sel.Bind(1, absl::ToUnixNanos(now));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, sel.Step());
      if (!row) break;
      expired.emplace_back(sel.Text(0), sel.Text(1));
    }
    ASSIGN_OR_RETURN(sqlite::Stmt del, tx.Prepare("DELETE FROM leases "
                                          "WHERE expires_at IS NOT NULL AND expires_at <= ?1"));
    return del.Bind(1, absl::ToUnixNanos(now)).Exec();
  }));
  return expired;
}

absl::StatusOr<std::optional<absl::Time>> LeaseStore::NextExpiry() {
  std::optional<absl::Time> next;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT MIN(expires_at) FROM leases "
                                           "WHERE expires_at IS NOT NULL"));
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row && !stmt.IsNull(0)) next = absl::FromUnixNanos(stmt.Int(0));
    return absl::OkStatus();
  }));
  return next;
}

}  // namespace berth::metadata
