// Leases: named holds on content, ingests and snapshots that keep them from garbage collection
// while a client works (pulls, imports). A lease with the label `containerd.io/gc.expire`
// (RFC 3339) is deleted once that time passes (see LeaseExpiry).
// Thread-safety: as sqlite::Database.
#pragma once

#include <optional>
#include <span>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sqlite/db.h"
#include "metadata/types.h"

namespace berth::metadata {

class LeaseStore {
 public:
  explicit LeaseStore(sqlite::Database* db) : db_(db) {}

  // InvalidArgument for an empty id or bad labels; AlreadyExists `lease "x": already exists`.
  absl::StatusOr<Lease> Create(absl::string_view ns, absl::string_view id, const Labels& labels);
  // NotFound `lease "x": not found`.
  absl::Status Delete(absl::string_view ns, absl::string_view id);
  // Filters over id and labels.*.
  absl::StatusOr<std::vector<Lease>> List(absl::string_view ns,
                                          std::span<const std::string> filters);
  // Resource types: "content" (id must be a digest), "ingests", "snapshots/<snapshotter>";
  // others are Unimplemented, like containerd. NotFound if the lease does not exist. Adding a
  // resource twice is not an error.
  absl::Status AddResource(absl::string_view ns, absl::string_view id, const LeaseResource& r);
  absl::Status DeleteResource(absl::string_view ns, absl::string_view id, const LeaseResource& r);
  absl::StatusOr<std::vector<LeaseResource>> ListResources(absl::string_view ns,
                                                           absl::string_view id);
  // NotFound unless lease `id` exists in `ns` (for requests carrying `containerd-lease`).
  absl::Status Check(absl::string_view ns, absl::string_view id);

  // Deletes every lease whose expiry is at or before `now`; returns (namespace, id) of each.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> DeleteExpired(absl::Time now);
  // The earliest expiry among all leases, if any has one.
  absl::StatusOr<std::optional<absl::Time>> NextExpiry();

 private:
  sqlite::Database* db_;
};

// Inside another store's write transaction: records that resource (`type`, `id`) was created or
// used under `lease` (the request's `containerd-lease`), so GC keeps it while the lease lives.
// No-op without a lease; NotFound "lease does not exist" if the lease is unknown in `ns`.
absl::Status AddToLease(sqlite::Tx& tx, absl::string_view ns,
                        const std::optional<std::string>& lease, absl::string_view type,
                        absl::string_view id);
// The reverse, when the resource goes away; no-op without a lease or when not recorded.
absl::Status RemoveFromLease(sqlite::Tx& tx, absl::string_view ns,
                             const std::optional<std::string>& lease, absl::string_view type,
                             absl::string_view id);

// A fresh lease id for clients that leave it to the server, in containerd's form.
std::string RandomLeaseId();

// Parses the value of `containerd.io/gc.expire`; nullopt when absent or unparsable (containerd
// ignores a bad value too, keeping the lease).
std::optional<absl::Time> LeaseExpiry(const Labels& labels);

}  // namespace berth::metadata
