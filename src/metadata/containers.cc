#include "metadata/containers.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/filters.h"
#include "base/identifiers.h"
#include "base/status.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

constexpr absl::string_view kColumns =
    "id, labels, image, runtime_name, runtime_options_type, runtime_options, spec_type, spec, "
    "snapshotter, snapshot_key, created_at, updated_at";

absl::Status Validate(const Container& c) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(c.id), "container.ID"));
  for (const auto& [name, ext] : c.extensions) {
    if (name.empty()) {
      return ErrInvalidArgument("container.Extension keys must not be zero-length");
    }
  }
  RETURN_IF_ERROR(Annotate(ValidateLabels(c.labels), "containers.Labels"));
  if (c.runtime.name.empty()) return ErrInvalidArgument("container.Runtime.Name must be set");
  if (!c.spec) return ErrInvalidArgument("container.Spec must be set");
  if (!c.snapshot_key.empty() && c.snapshotter.empty()) {
    return ErrInvalidArgument("container.Snapshotter must be set if container.SnapshotKey is set");
  }
  return absl::OkStatus();
}

void BindAny(sqlite::Stmt& stmt, int index, const std::optional<Any>& any) {
  if (any) {
    stmt.Bind(index, any->type_url).BindBlob(index + 1, any->value);
  } else {
    stmt.BindNull(index).BindNull(index + 1);
  }
}

std::optional<Any> ColumnAny(const sqlite::Stmt& stmt, int column) {
  if (stmt.IsNull(column)) return std::nullopt;
  return Any{.type_url = stmt.Text(column), .value = stmt.Blob(column + 1)};
}

// Reads one row selected with kColumns.
absl::StatusOr<Container> ReadRow(const sqlite::Stmt& stmt) {
  Container c;
  c.id = stmt.Text(0);
  ASSIGN_OR_RETURN(c.labels, LabelsFromJson(stmt.Text(1)));
  c.image = stmt.Text(2);
  c.runtime.name = stmt.Text(3);
  c.runtime.options = ColumnAny(stmt, 4);
  c.spec = ColumnAny(stmt, 6);
  c.snapshotter = stmt.Text(8);
  c.snapshot_key = stmt.Text(9);
  c.created_at = absl::FromUnixNanos(stmt.Int(10));
  c.updated_at = absl::FromUnixNanos(stmt.Int(11));
  return c;
}

absl::Status ReadExtensions(sqlite::Tx& tx, absl::string_view ns, Container& c) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare("SELECT name, type_url, value FROM container_extensions "
                                         "WHERE namespace = ?1 AND container = ?2"));
  stmt.Bind(1, ns).Bind(2, c.id);
  for (;;) {
    ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return absl::OkStatus();
    c.extensions.emplace(stmt.Text(0), Any{.type_url = stmt.Text(1), .value = stmt.Blob(2)});
  }
}

absl::Status WriteExtensions(sqlite::Tx& tx, absl::string_view ns, const Container& c) {
  ASSIGN_OR_RETURN(sqlite::Stmt del, tx.Prepare("DELETE FROM container_extensions "
                                        "WHERE namespace = ?1 AND container = ?2"));
  RETURN_IF_ERROR(del.Bind(1, ns).Bind(2, c.id).Exec());
  for (const auto& [name, ext] : c.extensions) {
    ASSIGN_OR_RETURN(sqlite::Stmt ins, tx.Prepare("INSERT INTO container_extensions(namespace, container, "
                                          "name, type_url, value) VALUES(?1, ?2, ?3, ?4, ?5)"));
    RETURN_IF_ERROR(
        ins.Bind(1, ns).Bind(2, c.id).Bind(3, name).Bind(4, ext.type_url).BindBlob(5, ext.value)
            .Exec());
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Container>> Find(sqlite::Tx& tx, absl::string_view ns, absl::string_view id) {
  static const std::string sql =
      absl::StrCat("SELECT ", kColumns, " FROM containers WHERE namespace = ?1 AND id = ?2");
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
  stmt.Bind(1, ns).Bind(2, id);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::optional<Container>();
  ASSIGN_OR_RETURN(Container c, ReadRow(stmt));
  RETURN_IF_ERROR(ReadExtensions(tx, ns, c));
  return std::optional<Container>(std::move(c));
}

filters::Adaptor Adapt(const Container& c) {
  return [&c](std::span<const std::string> path) -> std::optional<std::string> {
    const std::string& field = path[0];
    auto present = [](const std::string& v) -> std::optional<std::string> {
      if (v.empty()) return std::nullopt;
      return v;
    };
    if (field == "id") return present(c.id);
    if (field == "image") return present(c.image);
    if (field == "runtime") {
      if (path.size() == 2 && path[1] == "name") return present(c.runtime.name);
      return std::nullopt;
    }
    if (field == "labels") return filters::LookupMap(path.subspan(1), &c.labels);
    return std::nullopt;
  };
}

}  // namespace

absl::StatusOr<Container> ContainerStore::Get(absl::string_view ns, absl::string_view id) {
  std::optional<Container> found;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(found, Find(tx, ns, id));
    return absl::OkStatus();
  }));
  if (!found) {
    return ErrNotFound(absl::StrCat("container \"", id, "\" in namespace \"", ns, "\""));
  }
  return std::move(*found);
}

absl::StatusOr<std::vector<Container>> ContainerStore::List(absl::string_view ns,
                                                            std::span<const std::string> fs) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(fs));
  std::vector<Container> out;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    static const std::string sql =
        absl::StrCat("SELECT ", kColumns, " FROM containers WHERE namespace = ?1 ORDER BY id");
    ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
    stmt.Bind(1, ns);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(Container c, ReadRow(stmt));
      if (filter.MatchesAll() || filter.Match(Adapt(c))) out.push_back(std::move(c));
    }
    for (Container& c : out) RETURN_IF_ERROR(ReadExtensions(tx, ns, c));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Container> ContainerStore::Create(absl::string_view ns, Container c) {
  RETURN_IF_ERROR(Annotate(Validate(c), "create container failed validation"));
  c.labels = WithoutEmptyValues(c.labels);
  c.created_at = absl::Now();
  c.updated_at = c.created_at;
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(EnsureNamespace(tx, ns));
    ASSIGN_OR_RETURN(
        sqlite::Stmt stmt,
        tx.Prepare("INSERT OR IGNORE INTO containers(namespace, id, labels, image, runtime_name, "
                   "runtime_options_type, runtime_options, spec_type, spec, snapshotter, "
                   "snapshot_key, created_at, updated_at) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
    stmt.Bind(1, ns).Bind(2, c.id).Bind(3, LabelsToJson(c.labels)).Bind(4, c.image);
    stmt.Bind(5, c.runtime.name);
    BindAny(stmt, 6, c.runtime.options);
    BindAny(stmt, 8, c.spec);
    stmt.Bind(10, c.snapshotter).Bind(11, c.snapshot_key);
    stmt.Bind(12, absl::ToUnixNanos(c.created_at)).Bind(13, absl::ToUnixNanos(c.updated_at));
    RETURN_IF_ERROR(stmt.Exec());
    if (tx.Changes() == 0) return ErrAlreadyExists(absl::StrCat("container \"", c.id, "\""));
    return WriteExtensions(tx, ns, c);
  }));
  return c;
}

absl::StatusOr<Container> ContainerStore::Update(absl::string_view ns, const Container& in,
                                                 const std::vector<std::string>& paths_in) {
  if (in.id.empty()) return ErrInvalidArgument("must specify a container id");
  Container updated;
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<Container> found, Find(tx, ns, in.id));
    if (!found) return ErrNotFound(absl::StrCat("container \"", in.id, "\""));
    updated = std::move(*found);

    std::vector<std::string> paths = paths_in;
    if (paths.empty()) {
      // A full replace may change only these; immutable fields must stay as they are.
      paths = {"labels", "spec", "extensions", "image", "snapshotkey"};
      if (updated.snapshotter != in.snapshotter) {
        return ErrInvalidArgument("container.Snapshotter field is immutable");
      }
      if (updated.runtime.name != in.runtime.name) {
        return ErrInvalidArgument("container.Runtime.Name field is immutable");
      }
    }
    for (const std::string& path : paths) {
      if (absl::StartsWith(path, "labels.")) {
        ApplyLabelPath(updated.labels, path.substr(strlen("labels.")), in.labels);
      } else if (absl::StartsWith(path, "extensions.")) {
        std::string key = path.substr(strlen("extensions."));
        auto it = in.extensions.find(key);
        if (it == in.extensions.end()) {
          updated.extensions.erase(key);
        } else {
          updated.extensions[key] = it->second;
        }
      } else if (path == "labels") {
        updated.labels = WithoutEmptyValues(in.labels);
      } else if (path == "spec") {
        updated.spec = in.spec;
      } else if (path == "extensions") {
        updated.extensions = in.extensions;
      } else if (path == "image") {
        updated.image = in.image;
      } else if (path == "snapshotkey") {
        updated.snapshot_key = in.snapshot_key;
      } else {
        return ErrInvalidArgument(
            absl::StrCat("cannot update \"", path, "\" field on \"", in.id, "\""));
      }
    }
    RETURN_IF_ERROR(Annotate(Validate(updated), "update failed validation"));
    updated.updated_at = absl::Now();

    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("UPDATE containers SET labels = ?3, image = ?4, spec_type = ?5, "
                                "spec = ?6, snapshot_key = ?7, updated_at = ?8 "
                                "WHERE namespace = ?1 AND id = ?2"));
    stmt.Bind(1, ns).Bind(2, updated.id).Bind(3, LabelsToJson(updated.labels));
    stmt.Bind(4, updated.image);
    BindAny(stmt, 5, updated.spec);
    stmt.Bind(7, updated.snapshot_key).Bind(8, absl::ToUnixNanos(updated.updated_at));
    RETURN_IF_ERROR(stmt.Exec());
    return WriteExtensions(tx, ns, updated);
  }));
  return updated;
}

absl::Status ContainerStore::Delete(absl::string_view ns, absl::string_view id) {
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("DELETE FROM containers WHERE namespace = ?1 AND id = ?2"));
    RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, id).Exec());
    if (tx.Changes() == 0) return ErrNotFound(absl::StrCat("container ", id));
    return absl::OkStatus();
  });
}

}  // namespace berth::metadata
