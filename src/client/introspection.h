// Typed helpers for containerd.services.introspection.v1.Introspection and
// containerd.services.version.v1.Version: what the daemon is and which plugins it runs.
// Errors are the daemon's, unchanged. Thread-safety: as Client.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"

namespace berth::client {

using containerd::services::introspection::v1::Plugin;

// Plugins matching any of `filters` (fields: type, id, platforms, capabilities; none = all).
absl::StatusOr<std::vector<Plugin>> ListPlugins(Client& client,
                                                const std::vector<std::string>& filters = {});

// The daemon's UUID, stable across restarts of the same root.
absl::StatusOr<std::string> ServerUuid(Client& client);

}  // namespace berth::client
