// Typed helpers for containerd.services.snapshots.v1.Snapshots: snapshots of one snapshotter
// ("overlayfs", "native") in the client's namespace, by key (active and view snapshots) or name
// (committed ones). Errors are the daemon's, unchanged (NotFound, AlreadyExists,
// FailedPrecondition, InvalidArgument "snapshotter not loaded: x"). Thread-safety: as Client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/labels.h"

namespace berth::client {

inline constexpr char kDefaultSnapshotter[] = "overlayfs";

using SnapshotInfo = containerd::services::snapshots::v1::Info;
using SnapshotKind = containerd::services::snapshots::v1::Kind;
using Mount = containerd::types::Mount;

struct SnapshotUsage {
  int64_t size = 0;  // bytes of disk the snapshot itself uses (not its parents)
  int64_t inodes = 0;
};

// Creates the active snapshot `key` on the committed `parent` ("" for none); returns its mounts.
absl::StatusOr<std::vector<Mount>> PrepareSnapshot(Client& client, std::string_view snapshotter,
                                                   std::string_view key,
                                                   std::string_view parent = "",
                                                   const Labels& labels = {});
// Creates the read-only view `key` of `parent`; returns its mounts.
absl::StatusOr<std::vector<Mount>> ViewSnapshot(Client& client, std::string_view snapshotter,
                                                std::string_view key, std::string_view parent,
                                                const Labels& labels = {});
// The mounts of the active or view snapshot `key`.
absl::StatusOr<std::vector<Mount>> SnapshotMounts(Client& client, std::string_view snapshotter,
                                                  std::string_view key);
// Commits the active snapshot `key` as `name` (with `labels`); `key` is gone afterwards.
absl::Status CommitSnapshot(Client& client, std::string_view snapshotter, std::string_view name,
                            std::string_view key, const Labels& labels = {});
absl::Status RemoveSnapshot(Client& client, std::string_view snapshotter, std::string_view key);
absl::StatusOr<SnapshotInfo> StatSnapshot(Client& client, std::string_view snapshotter,
                                          std::string_view key);
// Replaces the snapshot's labels (no paths) or sets the `labels.<key>` paths given (a key absent
// from `labels` is removed).
absl::StatusOr<SnapshotInfo> UpdateSnapshotLabels(Client& client, std::string_view snapshotter,
                                                  std::string_view key, const Labels& labels,
                                                  const std::vector<std::string>& paths = {});
// Snapshots matching any of `filters` (none = all), in key order.
absl::StatusOr<std::vector<SnapshotInfo>> ListSnapshots(
    Client& client, std::string_view snapshotter, const std::vector<std::string>& filters = {});
absl::StatusOr<SnapshotUsage> GetSnapshotUsage(Client& client, std::string_view snapshotter,
                                               std::string_view key);
// Asks the daemon to remove what no snapshot uses any more (berthd; containerd 1.6 answers
// Unimplemented).
absl::Status CleanupSnapshots(Client& client, std::string_view snapshotter);

// "Active", "View", "Committed" (as ctr prints a snapshot's kind), "Unknown" otherwise.
std::string_view SnapshotKindName(SnapshotKind kind);

}  // namespace berth::client
