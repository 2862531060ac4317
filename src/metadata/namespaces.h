// Namespaces: the containerd tenancy unit. A namespace exists once it is created explicitly or
// once anything (a container, a lease, a label) is written into it.
// Thread-safety: as sqlite::Database (all methods may be called concurrently).
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "sqlite/db.h"
#include "metadata/types.h"

namespace berth::metadata {

// Creates `ns` if it does not exist yet. For use inside other stores' write transactions.
absl::Status EnsureNamespace(sqlite::Tx& tx, absl::string_view ns);

class NamespaceStore {
 public:
  explicit NamespaceStore(sqlite::Database* db) : db_(db) {}

  // InvalidArgument for a bad name or labels; AlreadyExists if present. Labels are stored as
  // given, empty values included (like containerd).
  absl::Status Create(const Namespace& ns);
  // Never NotFound: an unknown namespace has no labels (containerd clients rely on this).
  absl::StatusOr<Namespace> Get(absl::string_view name);
  absl::StatusOr<std::vector<Namespace>> List();
  // With no `paths`, replaces all labels; otherwise each path must be "labels.<key>" and sets that
  // key from `ns.labels` (removing it when absent or empty). Creates the namespace if needed.
  // InvalidArgument for any other path. Returns the namespace as stored.
  absl::StatusOr<Namespace> Update(const Namespace& ns, const std::vector<std::string>& paths);
  // FailedPrecondition naming what it still holds if not empty; NotFound if absent.
  absl::Status Delete(absl::string_view name);

 private:
  sqlite::Database* db_;
};

}  // namespace berth::metadata
