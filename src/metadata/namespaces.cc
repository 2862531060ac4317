#include "metadata/namespaces.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/identifiers.h"
#include "base/status.h"

namespace berth::metadata {

absl::Status EnsureNamespace(sqlite::Tx& tx, absl::string_view ns) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare("INSERT OR IGNORE INTO namespaces(name, created_at) VALUES(?1, ?2)"));
  return stmt.Bind(1, ns).Bind(2, absl::ToUnixNanos(absl::Now())).Exec();
}

namespace {

absl::StatusOr<std::optional<Labels>> ReadLabels(sqlite::Tx& tx, absl::string_view name) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT labels FROM namespaces WHERE name = ?1"));
  stmt.Bind(1, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<Labels>();
  ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(stmt.Text(0)));
  return std::optional<Labels>(std::move(labels));
}

absl::Status WriteLabels(sqlite::Tx& tx, absl::string_view name, const Labels& labels) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("UPDATE namespaces SET labels = ?2 WHERE name = ?1"));
  return stmt.Bind(1, name).Bind(2, LabelsToJson(labels)).Exec();
}

absl::Status ValidateNamespaceLabels(const Labels& labels) {
  return Annotate(ValidateLabels(labels), "namespace.Labels");
}

}  // namespace

absl::Status NamespaceStore::Create(const Namespace& ns) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name));
  RETURN_IF_ERROR(ValidateNamespaceLabels(ns.labels));
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("INSERT OR IGNORE INTO namespaces(name, labels, "
                                           "created_at) VALUES(?1, ?2, ?3)"));
    RETURN_IF_ERROR(stmt.Bind(1, ns.name)
                        // Stored as given: containerd keeps "" values at creation (only an
                        // update treats "" as removal).
                        .Bind(2, LabelsToJson(ns.labels))
                        .Bind(3, absl::ToUnixNanos(absl::Now()))
                        .Exec());
    if (tx.Changes() == 0) return ErrAlreadyExists(absl::StrCat("namespace \"", ns.name, "\""));
    return absl::OkStatus();
  });
}

absl::StatusOr<Namespace> NamespaceStore::Get(absl::string_view name) {
  Namespace ns{.name = std::string(name)};
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Labels> labels, ReadLabels(tx, name));
    if (labels) ns.labels = std::move(*labels);
    return absl::OkStatus();
  }));
  return ns;
}

absl::StatusOr<std::vector<Namespace>> NamespaceStore::List() {
  std::vector<Namespace> out;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT name, labels FROM namespaces ORDER BY name"));
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Labels labels, LabelsFromJson(stmt.Text(1)));
      out.push_back(Namespace{.name = stmt.Text(0), .labels = std::move(labels)});
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Namespace> NamespaceStore::Update(const Namespace& ns,
                                                 const std::vector<std::string>& paths) {
  RETURN_IF_ERROR(ValidateIdentifier(ns.name));
  RETURN_IF_ERROR(ValidateNamespaceLabels(ns.labels));
  for (const std::string& path : paths) {
    if (!absl::StartsWith(path, "labels.")) {
      return ErrInvalidArgument(absl::StrCat("cannot update \"", path, "\" field"));
    }
  }
  Namespace result{.name = ns.name};
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(EnsureNamespace(tx, ns.name));
    Labels labels;
    if (paths.empty()) {
      labels = WithoutEmptyValues(ns.labels);
    } else {
      ASSIGN_OR_RETURN(std::optional<Labels> existing, ReadLabels(tx, ns.name));
      if (existing) labels = std::move(*existing);
      for (const std::string& path : paths) {
        ApplyLabelPath(labels, path.substr(strlen("labels.")), ns.labels);
      }
    }
    RETURN_IF_ERROR(WriteLabels(tx, ns.name, labels));
    result.labels = std::move(labels);
    return absl::OkStatus();
  }));
  return result;
}

absl::Status NamespaceStore::Delete(absl::string_view name) {
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    // What a namespace may still hold, in containerd's order of reporting.
    struct Kind {
      const char* what;
      const char* sql;
    };
    static constexpr Kind kKinds[] = {
        {"images", "SELECT 1 FROM images WHERE namespace = ?1 LIMIT 1"},
        {"blobs", "SELECT 1 FROM content_blobs WHERE namespace = ?1 LIMIT 1"},
        {"containers", "SELECT 1 FROM containers WHERE namespace = ?1 LIMIT 1"},
        // No `what`: one entry per snapshotter, `snapshots on "overlayfs" snapshotter`.
        {nullptr,
         "SELECT DISTINCT snapshotter FROM snapshots WHERE namespace = ?1 "
         "ORDER BY snapshotter"},
        {"leases", "SELECT 1 FROM leases WHERE namespace = ?1 LIMIT 1"},
    };
    std::vector<std::string> held;
    for (const Kind& kind : kKinds) {
      ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(kind.sql));
      stmt.Bind(1, name);
      for (;;) {
        ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        if (kind.what != nullptr) {
          held.push_back(kind.what);
          break;
        }
        held.push_back(absl::StrCat("snapshots on \"", stmt.Text(0), "\" snapshotter"));
      }
    }
    if (!held.empty()) {
      return ErrFailedPrecondition(absl::StrCat("namespace \"", name,
                                                "\" must be empty, but it still has ",
                                                absl::StrJoin(held, ", ")));
    }
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("DELETE FROM namespaces WHERE name = ?1"));
    RETURN_IF_ERROR(stmt.Bind(1, name).Exec());
    if (tx.Changes() == 0) return ErrNotFound(absl::StrCat("namespace \"", name, "\""));
    return absl::OkStatus();
  });
}

}  // namespace berth::metadata
