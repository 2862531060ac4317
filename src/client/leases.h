// Typed helpers for containerd.services.leases.v1.Leases.
// A lease holds resources (content, snapshots, images, ingests) against garbage collection; its
// expiry is the label containerd.io/gc.expire (RFC 3339), which the daemon's GC honours.
// Errors are the daemon's, unchanged. Thread-safety: as Client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/labels.h"

namespace berth::client {

using containerd::services::leases::v1::Lease;
using LeaseResource = containerd::services::leases::v1::Resource;

inline constexpr char kLeaseExpireLabel[] = "containerd.io/gc.expire";

// Creates a lease. With an empty `id` the daemon generates one (the returned lease has it). A
// positive `expires` adds
// the label containerd.io/gc.expire = now + expires (RFC 3339, local time); zero = never.
// AlreadyExists if the id is taken.
absl::StatusOr<Lease> CreateLease(Client& client, std::string_view id, const Labels& labels,
                                  absl::Duration expires = absl::ZeroDuration());

// Leases of the client's namespace matching any of `filters` (none = all).
absl::StatusOr<std::vector<Lease>> ListLeases(Client& client,
                                              const std::vector<std::string>& filters = {});

// Deletes lease `id`. With `sync` the daemon collects garbage before answering.
// NotFound if it does not exist.
absl::Status DeleteLease(Client& client, std::string_view id, bool sync = false);

absl::Status AddLeaseResource(Client& client, std::string_view lease_id,
                              const LeaseResource& resource);
absl::Status DeleteLeaseResource(Client& client, std::string_view lease_id,
                                 const LeaseResource& resource);
absl::StatusOr<std::vector<LeaseResource>> ListLeaseResources(Client& client,
                                                              std::string_view lease_id);

}  // namespace berth::client
