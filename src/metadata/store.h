// The metadata store: the database file under the root and the per-kind stores over it.
// Thread-safety: every member may be used from any thread (see sqlite::Database).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "metadata/containers.h"
#include "metadata/images.h"
#include "sqlite/db.h"
#include "metadata/leases.h"
#include "metadata/namespaces.h"

namespace berth::metadata {

class Store {
 public:
  // Opens `<dir>/metadata.db` (creating `dir` is the caller's job).
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     sqlite::Sync sync = sqlite::Sync::kNormal);

  sqlite::Database& db() { return *db_; }
  NamespaceStore& namespaces() { return namespaces_; }
  ContainerStore& containers() { return containers_; }
  ImageStore& images() { return images_; }
  LeaseStore& leases() { return leases_; }

  // This daemon's identity, generated on first open and kept for the life of the root
  // (Introspection/Server reports it).
  const std::string& uuid() const { return uuid_; }

 private:
  explicit Store(std::unique_ptr<sqlite::Database> db);
  absl::Status LoadUuid();

  std::unique_ptr<sqlite::Database> db_;
  NamespaceStore namespaces_;
  ContainerStore containers_;
  ImageStore images_;
  LeaseStore leases_;
  std::string uuid_;
};

// A random (version 4) UUID in its canonical text form.
std::string NewUuid();

}  // namespace berth::metadata
