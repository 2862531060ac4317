// Typed helper for containerd.services.version.v1.Version. Thread-safety: as Client.
#pragma once

#include "absl/status/statusor.h"
#include "client/client.h"

namespace berth::client {

using containerd::services::version::v1::VersionResponse;

// The daemon's version and revision (containerd: e.g. "1.6.20~ds1" and a commit).
absl::StatusOr<VersionResponse> GetVersion(Client& client);

}  // namespace berth::client
