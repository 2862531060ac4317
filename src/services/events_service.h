// containerd.services.events.v1.Events: Publish, Forward and Subscribe over the exchange.
//
// Each Subscribe stream is a reactor that queues matching envelopes and writes them one at a
// time; no thread waits on a stream. A subscriber that falls kExMaxQueued envelopes behind is
// dropped with ResourceExhausted rather than let the daemon's memory grow without bound.
// Thread-safety: all methods may be called from any thread; mu_ guards the set of live streams.
#pragma once

#include <set>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.grpc.pb.h"

namespace berth::services {

class SubscribeReactor;

class EventsService final : public containerd::services::events::v1::Events::CallbackService {
 public:
  explicit EventsService(events::Exchange* exchange) : exchange_(exchange) {}

  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx,
                                    const containerd::services::events::v1::PublishRequest* req,
                                    google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* ctx,
                                    const containerd::services::events::v1::ForwardRequest* req,
                                    google::protobuf::Empty* resp) override;
  grpc::ServerWriteReactor<containerd::services::events::v1::Envelope>* Subscribe(
      grpc::CallbackServerContext* ctx,
      const containerd::services::events::v1::SubscribeRequest* req) override;

  // Ends every open Subscribe stream with OK (the daemon is stopping). Later Subscribe calls
  // fail UNAVAILABLE: a client that resubscribes at once (dockerd) must not get a stream that the
  // server's shutdown then cancels.
  void CloseAll();

 private:
  friend class SubscribeReactor;
  void Forget(SubscribeReactor* r);

  events::Exchange* exchange_;
  absl::Mutex mu_;
  std::set<SubscribeReactor*> streams_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace berth::services
