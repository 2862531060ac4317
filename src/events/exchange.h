// The event exchange: publish / subscribe over containerd's event envelopes.
//
// Publishers hand an event (a google.protobuf.Any with a bare type URL, e.g.
// "containerd.events.ContainerCreate") with its namespace and topic; every subscriber whose filter
// matches receives the same immutable Envelope. Subscribers are sinks that must not block: the
// gRPC Subscribe stream queues and writes asynchronously, so 200 open streams cost no thread.
//
// Filters use containerd's syntax over the fields `namespace`, `topic` and `event.<field>` (the
// event's own fields, looked up by proto field name through the descriptor pool).
//
// Thread-safety: all methods may be called from any thread. One mutex guards the subscriber list;
// Deliver() is called with it held, so after Unsubscribe() returns no delivery is in progress.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "base/filters.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.pb.h"
#include "google/protobuf/any.pb.h"

namespace berth::events {

using Envelope = containerd::services::events::v1::Envelope;

class Sink {
 public:
  virtual ~Sink() = default;
  // Takes one envelope; must return quickly (queue it) and must not call back into the Exchange.
  virtual void Deliver(std::shared_ptr<const Envelope> envelope) = 0;
};

class Exchange {
 public:
  // Validates namespace and topic (a '/'-separated path of identifiers, starting with '/'),
  // stamps the time, and delivers. InvalidArgument on a bad envelope.
  absl::Status Publish(absl::string_view ns, absl::string_view topic,
                       const google::protobuf::Any& event);
  // Re-publishes an envelope produced elsewhere (a shim, another daemon), keeping its timestamp.
  absl::Status Forward(const Envelope& envelope);

  // Registers `sink` (not owned) for envelopes matching `filter`; returns a handle for
  // Unsubscribe.
  uint64_t Subscribe(filters::Filter filter, Sink* sink);
  void Unsubscribe(uint64_t handle);
  size_t subscriber_count() const;

 private:
  struct Subscription {
    filters::Filter filter;
    Sink* sink;
  };
  void Broadcast(std::shared_ptr<const Envelope> envelope);

  mutable absl::Mutex mu_;
  uint64_t next_handle_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, Subscription> subscriptions_ ABSL_GUARDED_BY(mu_);
};

// Builds an Any with containerd's bare type URL (the message's full name) from `event`.
google::protobuf::Any PackEvent(const google::protobuf::Message& event);

// containerd's topic validation: non-empty, starts with '/', each component an identifier.
absl::Status ValidateTopic(absl::string_view topic);

// The filter adaptor over one envelope (exposed for tests).
filters::Adaptor AdaptEnvelope(const Envelope& envelope);

}  // namespace berth::events
