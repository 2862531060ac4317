// Typed helpers for containerd.services.events.v1.Events.
// Subscribe is a long-lived server stream: it blocks the calling thread until the stream ends.
// To stop it from another thread, call TryCancel() on the grpc::ClientContext passed in (safe
// from any thread). Thread-safety: as Client.
#pragma once

#include <google/protobuf/any.pb.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "client/client.h"

namespace berth::client {

using containerd::services::events::v1::Envelope;

// Called for each event in arrival order; return false to end the subscription.
using EventHandler = std::function<bool(const Envelope&)>;

// Subscribes to events matching any of `filters` (containerd filter syntax over the envelope's
// fields: namespace, topic, event.<field>; none = all) and calls `handler` for each one.
// The subscription spans every namespace unless a filter restricts it. Returns:
//   OK         when `handler` returned false (or the daemon closed the stream cleanly);
//   Cancelled  when `ctx` was cancelled (ctx.TryCancel());
//   otherwise the stream's error (Unavailable when the daemon goes away, InvalidArgument for a
//   bad filter, ...).
// `ctx` should come from client.NewStreamContext() (a deadline would end the stream).
absl::Status Subscribe(Client& client, grpc::ClientContext& ctx,
                       const std::vector<std::string>& filters, const EventHandler& handler);

// Publishes `event` (its type_url a bare message name, e.g. "containerd.events.ContainerCreate")
// on `topic` in the client's namespace.
absl::Status PublishEvent(Client& client, std::string_view topic,
                          const google::protobuf::Any& event);

}  // namespace berth::client
