// Containers: metadata records (no running state; tasks are the runtime's). Semantics follow
// containerd's container store: validation, immutable fields, field-mask updates.
// Thread-safety: as sqlite::Database.
#pragma once

#include <span>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "sqlite/db.h"
#include "metadata/types.h"

namespace berth::metadata {

class ContainerStore {
 public:
  explicit ContainerStore(sqlite::Database* db) : db_(db) {}

  // NotFound `container "x" in namespace "ns": not found`.
  absl::StatusOr<Container> Get(absl::string_view ns, absl::string_view id);
  // `filters` in containerd's syntax (OR'ed) over id, image, runtime.name, labels.*;
  // InvalidArgument if one does not parse.
  absl::StatusOr<std::vector<Container>> List(absl::string_view ns,
                                              std::span<const std::string> filters);
  // Stamps created_at/updated_at and returns the stored record. InvalidArgument when validation
  // fails; AlreadyExists if the id is taken. Creates the namespace if needed.
  absl::StatusOr<Container> Create(absl::string_view ns, Container container);
  // Applies `paths` (containerd's field mask: labels, labels.<k>, spec, extensions,
  // extensions.<k>, image, snapshotkey) from `container` onto the stored record; with no paths,
  // replaces all mutable fields and rejects changes to snapshotter / runtime name.
  absl::StatusOr<Container> Update(absl::string_view ns, const Container& container,
                                   const std::vector<std::string>& paths);
  absl::Status Delete(absl::string_view ns, absl::string_view id);

 private:
  sqlite::Database* db_;
};

}  // namespace berth::metadata
