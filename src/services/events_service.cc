#include "services/events_service.h"

#include <deque>

#include "base/status.h"
#include "services/common.h"
#include "services/stream_writer.h"

namespace berth::services {

namespace api = containerd::services::events::v1;

namespace {
constexpr size_t kMaxQueued = 10000;
}  // namespace

// One Subscribe stream. Lifetime: created by Subscribe, deleted in OnDone after it has left the
// exchange, so the exchange never delivers to a dead reactor.
class SubscribeReactor final : public grpc::ServerWriteReactor<api::Envelope>, public events::Sink {
 public:
  SubscribeReactor(EventsService* service, filters::Filter filter) : service_(service) {
    // Tell the client the subscription is live before the first event, so it can rely on seeing
    // everything published after it has the headers. Nothing can reach this reactor before it
    // subscribes, so this call races with no other. Lock order: service, exchange, reactor.
    StartSendInitialMetadata();
    handle_ = service_->exchange_->Subscribe(std::move(filter), this);
  }

  // Start* and Finish are called with mu_ held: gRPC forbids calling them concurrently, and it
  // never runs a reaction (OnWriteDone) inline from inside StartWrite for a user reactor.
  void Deliver(std::shared_ptr<const api::Envelope> envelope) override {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (queue_.size() >= kMaxQueued) {
      finished_ = true;
      Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "event subscriber is too slow: dropped"));
      return;
    }
    queue_.push_back(std::move(envelope));
    if (!writing_) {
      writing_ = true;
      StartWrite(queue_.front().get());
    }
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    writing_ = false;
    if (!ok) {
      // The client went away; OnCancel/OnDone follow.
      if (!finished_) {
        finished_ = true;
        Finish(grpc::Status(grpc::StatusCode::CANCELLED, "subscriber gone"));
      }
      return;
    }
    if (!finished_ && !queue_.empty()) {
      writing_ = true;
      StartWrite(queue_.front().get());
    }
  }

  void OnCancel() override { Close(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    service_->exchange_->Unsubscribe(handle_);
    service_->Forget(this);
    delete this;
  }

  void Close(const grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

 private:
  EventsService* service_;
  uint64_t handle_ = 0;
  absl::Mutex mu_;
  std::deque<std::shared_ptr<const api::Envelope>> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

grpc::ServerUnaryReactor* EventsService::Publish(grpc::CallbackServerContext* ctx,
                                                 const api::PublishRequest* req,
                                                 google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  return Finish(ctx, exchange_->Publish(rc->ns, req->topic(), req->event()));
}

grpc::ServerUnaryReactor* EventsService::Forward(grpc::CallbackServerContext* ctx,
                                                 const api::ForwardRequest* req,
                                                 google::protobuf::Empty*) {
  return Finish(ctx, exchange_->Forward(req->envelope()));
}

grpc::ServerWriteReactor<api::Envelope>* EventsService::Subscribe(
    grpc::CallbackServerContext* ctx, const api::SubscribeRequest* req) {
  std::vector<std::string> fs(req->filters().begin(), req->filters().end());
  auto filter = filters::ParseAll(fs);
  if (!filter.ok()) {
    return new FailedWriter<api::Envelope>(filter.status());
  }
  // Registered before it can possibly finish, so OnDone always finds it to forget.
  absl::MutexLock lock(&mu_);
  if (closing_) {
    // Not CANCELLED: dockerd takes that for its own shutdown and never subscribes again. It
    // retries UNAVAILABLE once the (restarted) daemon serves.
    return new FailedWriter<api::Envelope>(absl::UnavailableError("berthd is shutting down"));
  }
  auto* reactor = new SubscribeReactor(this, std::move(*filter));
  streams_.insert(reactor);
  return reactor;
}

void EventsService::Forget(SubscribeReactor* r) {
  absl::MutexLock lock(&mu_);
  streams_.erase(r);
}

void EventsService::CloseAll() {
  absl::MutexLock lock(&mu_);
  closing_ = true;
  // Finish() only schedules OnDone, which takes mu_ later, so holding it here is safe.
  for (SubscribeReactor* r : streams_) r->Close(grpc::Status::OK);
}

}  // namespace berth::services
