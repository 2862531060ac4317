// Typed helpers for containerd.services.namespaces.v1.Namespaces.
// Every function makes one or more calls through Client::NewContext() and returns the daemon's
// status unchanged (gRPC code and message, e.g. NotFound "namespace \"x\": not found").
// Thread-safety: as Client.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/labels.h"

namespace berth::client {

using containerd::services::namespaces::v1::Namespace;

// All namespaces with their labels, in the daemon's order (containerd: by name).
absl::StatusOr<std::vector<Namespace>> ListNamespaces(Client& client);

// One namespace. containerd answers OK with empty labels for a namespace it does not know.
absl::StatusOr<Namespace> GetNamespace(Client& client, std::string_view name);

// Creates `name` with `labels`. AlreadyExists if it exists, InvalidArgument for a bad name.
absl::Status CreateNamespace(Client& client, std::string_view name, const Labels& labels);

// Sets each label of `labels` on namespace `name`, leaving the others alone (update mask
// `labels.<key>` per key, like `ctr namespaces label`). An empty value removes that label.
// An empty `labels` is a no-op: an Update without a mask would replace every label.
absl::Status SetNamespaceLabels(Client& client, std::string_view name, const Labels& labels);

// Deletes an empty namespace. NotFound if it does not exist, FailedPrecondition if not empty.
absl::Status DeleteNamespace(Client& client, std::string_view name);

}  // namespace berth::client
