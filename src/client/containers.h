// Typed helpers for containerd.services.containers.v1.Containers (container metadata only:
// tasks and snapshots are other services).
// Errors are the daemon's, unchanged (NotFound, AlreadyExists, InvalidArgument, ...).
// Thread-safety: as Client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/labels.h"

namespace berth::client {

using containerd::services::containers::v1::Container;

// Containers of the client's namespace matching any of `filters` (containerd filter syntax;
// none = all). Uses ListStream, falling back to List when the daemon answers Unimplemented,
// as containerd's Go client does.
absl::StatusOr<std::vector<Container>> ListContainers(Client& client,
                                                      const std::vector<std::string>& filters = {});

// NotFound: `container "<id>" in namespace "<ns>": not found`.
absl::StatusOr<Container> GetContainer(Client& client, std::string_view id);

// Creates `container` (id, runtime and spec are required by the daemon); returns it as stored.
absl::StatusOr<Container> CreateContainer(Client& client, const Container& container);

// Updates the fields of `container.id()` named by `field_paths` ("labels", "labels.<key>",
// "image", "spec", "snapshotkey", "extensions.<name>", ...); with no paths the daemon replaces
// every mutable field. Returns the container as stored.
absl::StatusOr<Container> UpdateContainer(Client& client, const Container& container,
                                          const std::vector<std::string>& field_paths);

// Sets each of `labels` on container `id` (mask `labels.<key>`; an empty value removes the
// label) and returns the container's resulting labels. With no labels, just reads them.
absl::StatusOr<Labels> SetContainerLabels(Client& client, std::string_view id,
                                          const Labels& labels);

absl::Status DeleteContainer(Client& client, std::string_view id);

}  // namespace berth::client
