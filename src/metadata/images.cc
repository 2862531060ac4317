#include "metadata/images.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/digest.h"
#include "base/filters.h"
#include "base/labels.h"
#include "base/status.h"
#include "metadata/namespaces.h"

namespace berth::metadata {
namespace {

constexpr absl::string_view kColumns =
    "name, labels, target_media_type, target_digest, target_size, target_annotations, "
    "created_at, updated_at";

absl::Status ImageNotFound(absl::string_view name) {
  return ErrNotFound(absl::StrCat("image \"", name, "\""));
}

absl::StatusOr<Image> ReadRow(const sqlite::Stmt& stmt) {
  Image image;
  image.name = stmt.Text(0);
  ASSIGN_OR_RETURN(image.labels, LabelsFromJson(stmt.Text(1)));
  image.target.media_type = stmt.Text(2);
  image.target.digest = stmt.Text(3);
  image.target.size = stmt.Int(4);
  ASSIGN_OR_RETURN(image.target.annotations, LabelsFromJson(stmt.Text(5)));
  image.created_at = absl::FromUnixNanos(stmt.Int(6));
  image.updated_at = absl::FromUnixNanos(stmt.Int(7));
  return image;
}

absl::Status Validate(const Image& image) {
  if (image.name.empty()) return ErrInvalidArgument("image name must not be empty");
  RETURN_IF_ERROR(Annotate(ValidateLabels(image.labels), "image.Labels"));
  absl::StatusOr<Digest> d = Digest::Parse(image.target.digest);
  if (!d.ok()) {
    return ErrInvalidArgument(absl::StrCat("Target.Digest \"", image.target.digest,
                                           "\" invalid: ", d.status().message()));
  }
  if (image.target.size <= 0) {
    return ErrInvalidArgument("Target.Size must be greater than zero");
  }
  if (image.target.media_type.empty()) return ErrInvalidArgument("Target.MediaType must be set");
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Image>> Find(sqlite::Tx& tx, absl::string_view ns,
                                          absl::string_view name) {
  ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                   tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                           " FROM images WHERE namespace = ?1 AND name = ?2")));
  stmt.Bind(1, ns).Bind(2, name);
  ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return std::nullopt;
  return ReadRow(stmt);
}

// Writes every column of `image` (INSERT when `insert`, else UPDATE of the existing row).
absl::Status Write(sqlite::Tx& tx, absl::string_view ns, const Image& image, bool insert) {
  const char* sql =
      insert ? "INSERT OR IGNORE INTO images(namespace, name, labels, target_media_type, "
               "target_digest, target_size, target_annotations, created_at, updated_at) "
               "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
             : "UPDATE images SET labels = ?3, target_media_type = ?4, target_digest = ?5, "
               "target_size = ?6, target_annotations = ?7, created_at = ?8, updated_at = ?9 "
               "WHERE namespace = ?1 AND name = ?2";
  ASSIGN_OR_RETURN(sqlite::Stmt stmt, tx.Prepare(sql));
  return stmt.Bind(1, ns)
      .Bind(2, image.name)
      .Bind(3, LabelsToJson(image.labels))
      .Bind(4, image.target.media_type)
      .Bind(5, image.target.digest)
      .Bind(6, image.target.size)
      .Bind(7, LabelsToJson(image.target.annotations))
      .Bind(8, absl::ToUnixNanos(image.created_at))
      .Bind(9, absl::ToUnixNanos(image.updated_at))
      .Exec();
}

bool Matches(const filters::Filter& filter, const Image& image) {
  if (filter.MatchesAll()) return true;
  auto adaptor = [&image](std::span<const std::string> path) -> std::optional<std::string> {
    auto nonempty = [](const std::string& v) -> std::optional<std::string> {
      if (v.empty()) return std::nullopt;
      return v;
    };
    if (path[0] == "name") return nonempty(image.name);
    if (path[0] == "target") {
      if (path.size() < 2) return std::nullopt;
      if (path[1] == "digest") return nonempty(image.target.digest);
      if (path[1] == "mediatype") return nonempty(image.target.media_type);
      return std::nullopt;
    }
    if (path[0] == "labels") return filters::LookupMap(path.subspan(1), &image.labels);
    if (path[0] == "annotations") {
      return filters::LookupMap(path.subspan(1), &image.target.annotations);
    }
    return std::nullopt;
  };
  return filter.Match(adaptor);
}

}  // namespace

absl::StatusOr<Image> ImageStore::Get(absl::string_view ns, absl::string_view name) {
  std::optional<Image> image;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(image, Find(tx, ns, name));
    return absl::OkStatus();
  }));
  if (!image) return ImageNotFound(name);
  return *std::move(image);
}

absl::StatusOr<std::vector<Image>> ImageStore::List(absl::string_view ns,
                                                    std::span<const std::string> filters_in) {
  ASSIGN_OR_RETURN(filters::Filter filter, filters::ParseAll(filters_in));
  std::vector<Image> out;
  RETURN_IF_ERROR(db_->Read([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare(absl::StrCat("SELECT ", kColumns,
                                             " FROM images WHERE namespace = ?1 ORDER BY name")));
    stmt.Bind(1, ns);
    for (;;) {
      ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) return absl::OkStatus();
      ASSIGN_OR_RETURN(Image image, ReadRow(stmt));
      if (Matches(filter, image)) out.push_back(std::move(image));
    }
  }));
  return out;
}

absl::StatusOr<Image> ImageStore::Create(absl::string_view ns, const Image& in) {
  Image image = in;
  image.labels = WithoutEmptyValues(image.labels);
  RETURN_IF_ERROR(Validate(image));
  image.created_at = image.updated_at = absl::Now();
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    RETURN_IF_ERROR(EnsureNamespace(tx, ns));
    RETURN_IF_ERROR(Write(tx, ns, image, /*insert=*/true));
    if (tx.Changes() == 0) return ErrAlreadyExists(absl::StrCat("image \"", image.name, "\""));
    return absl::OkStatus();
  }));
  return image;
}

absl::StatusOr<Image> ImageStore::Update(absl::string_view ns, const Image& in,
                                         std::span<const std::string> paths) {
  if (in.name.empty()) return ErrInvalidArgument("image name is required for update");
  std::optional<Image> updated;
  RETURN_IF_ERROR(db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(updated, Find(tx, ns, in.name));
    if (!updated) return ImageNotFound(in.name);
    const absl::Time created = updated->created_at;
    if (paths.empty()) {
      *updated = in;
    }
    for (const std::string& path : paths) {
      if (absl::StartsWith(path, "labels.")) {
        ApplyLabelPath(updated->labels, path.substr(7), in.labels);
      } else if (absl::StartsWith(path, "annotations.")) {
        ApplyLabelPath(updated->target.annotations, path.substr(12), in.target.annotations);
      } else if (path == "labels") {
        updated->labels = in.labels;
      } else if (path == "target") {
        updated->target = in.target;
      } else if (path == "annotations") {
        updated->target.annotations = in.target.annotations;
      } else {
        return ErrInvalidArgument(
            absl::StrCat("cannot update \"", path, "\" field on image \"", in.name, "\""));
      }
    }
    updated->labels = WithoutEmptyValues(updated->labels);
    RETURN_IF_ERROR(Validate(*updated));
    updated->created_at = created;
    updated->updated_at = absl::Now();
    return Write(tx, ns, *updated, /*insert=*/false);
  }));
  return *std::move(updated);
}

absl::Status ImageStore::Delete(absl::string_view ns, absl::string_view name) {
  return db_->Write([&](sqlite::Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(sqlite::Stmt stmt,
                     tx.Prepare("DELETE FROM images WHERE namespace = ?1 AND name = ?2"));
    RETURN_IF_ERROR(stmt.Bind(1, ns).Bind(2, name).Exec());
    if (tx.Changes() == 0) return ImageNotFound(name);
    return absl::OkStatus();
  });
}

}  // namespace berth::metadata
