// Images: names pointing at a target descriptor (a manifest or an index) in the content store,
// per namespace, with labels. Garbage collection treats every image as a root.
// Thread-safety: as sqlite::Database.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "metadata/types.h"
#include "sqlite/db.h"

namespace berth::metadata {

class ImageStore {
 public:
  explicit ImageStore(sqlite::Database* db) : db_(db) {}

  // NotFound `image "x": not found`.
  absl::StatusOr<Image> Get(absl::string_view ns, absl::string_view name);
  // Filters over name, target.digest, target.mediatype, labels.*, annotations.*; ordered by name.
  absl::StatusOr<std::vector<Image>> List(absl::string_view ns,
                                          std::span<const std::string> filters);
  // InvalidArgument for an empty name, bad labels or an invalid target (digest, size > 0, media
  // type); AlreadyExists `image "x": already exists`.
  absl::StatusOr<Image> Create(absl::string_view ns, const Image& image);
  // With no `paths` replaces everything but the creation time; otherwise each path is one of
  // labels, labels.<k>, target, annotations, annotations.<k> (InvalidArgument otherwise).
  // NotFound if absent.
  absl::StatusOr<Image> Update(absl::string_view ns, const Image& image,
                               std::span<const std::string> paths);
  // NotFound if absent.
  absl::Status Delete(absl::string_view ns, absl::string_view name);

 private:
  sqlite::Database* db_;
};

}  // namespace berth::metadata
