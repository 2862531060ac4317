#include "shim/publisher.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/time.h"
#include "base/log.h"
#include "google/protobuf/empty.pb.h"

namespace berth::shim {
namespace {

constexpr char kService[] = "containerd.services.events.ttrpc.v1.Events";
constexpr char kTopicExit[] = "/tasks/exit";

bool Transient(const absl::Status& st) {
  return st.code() == absl::StatusCode::kUnavailable ||
         st.code() == absl::StatusCode::kDeadlineExceeded;
}

}  // namespace

Publisher::Publisher(sys::EventLoop* loop, std::string address, std::string ns)
    : loop_(loop),
      address_(std::move(address)),
      ns_(std::move(ns)),
      self_(std::make_shared<Publisher*>(this)) {}

Publisher::~Publisher() {
  *self_ = nullptr;
  if (waiting_) loop_->Cancel(retry_timer_);
  if (client_) client_->Close();
}

void Publisher::Publish(absl::string_view topic, const google::protobuf::Message& event) {
  if (address_.empty()) {
    log::Debug("no TTRPC_ADDRESS: event not forwarded", {{"topic", topic}});
    return;
  }
  Item item;
  *item.envelope.mutable_timestamp() = api::ToTimestamp(absl::Now());
  item.envelope.set_namespace_(ns_);
  item.envelope.set_topic(std::string(topic));
  item.envelope.mutable_event()->set_type_url(event.GetDescriptor()->full_name());
  event.SerializeToString(item.envelope.mutable_event()->mutable_value());
  if (queue_.size() >= kMaxQueued) {
    // Drop the oldest event that is not an exit (the one in flight stays).
    for (auto it = queue_.begin() + (in_flight_ ? 1 : 0); it != queue_.end(); ++it) {
      if (it->envelope.topic() != kTopicExit) {
        log::Warn("event queue full: dropping an event", {{"topic", it->envelope.topic()}});
        queue_.erase(it);
        break;
      }
    }
  }
  queue_.push_back(std::move(item));
  Kick();
}

void Publisher::WhenIdle(std::function<void()> fn) {
  if (queue_.empty()) {
    loop_->Post(std::move(fn));
    return;
  }
  idle_waiters_.push_back(std::move(fn));
}

void Publisher::Kick() {
  if (in_flight_ || waiting_ || queue_.empty()) return;
  Send();
}

void Publisher::Send() {
  if (!client_ || client_->closed()) {
    client_.reset();
    auto client = ttrpc::Client::Connect(loop_, address_);
    if (!client.ok()) {
      log::Debug("event forwarding: daemon not reachable",
                 {{"address", address_}, {"error", client.status().ToString()}});
      return Retry();
    }
    client_ = *std::move(client);
  }
  Item& item = queue_.front();
  ++item.attempts;
  in_flight_ = true;
  containerd::services::events::ttrpc::v1::ForwardRequest request;
  *request.mutable_envelope() = item.envelope;
  ttrpc::CallOptions options;
  options.timeout = kCallTimeout;
  options.metadata.emplace(std::string(ttrpc::kNamespaceKey), ns_);
  std::weak_ptr<Publisher*> weak = self_;
  client_->Call(
      kService, "Forward", request.SerializeAsString(), std::move(options),
      [weak](absl::StatusOr<std::string> response) {
        auto self = weak.lock();
        if (!self || !*self) return;
        Publisher* p = *self;
        p->in_flight_ = false;
        if (response.ok()) return p->Delivered();
        const Item& item = p->queue_.front();
        bool keep = Transient(response.status()) || item.attempts < kMaxAttempts ||
                    item.envelope.topic() == kTopicExit;
        log::Warn("forward event",
                  {{"topic", item.envelope.topic()}, {"error", response.status().ToString()}});
        if (Transient(response.status())) {
          // The connection is probably gone; reconnect on the next attempt.
          if (p->client_) p->client_->Close();
          p->client_.reset();
        }
        if (!keep) {
          log::Error("dropping event after repeated failures", {{"topic", item.envelope.topic()}});
          p->queue_.pop_front();
          if (p->queue_.empty()) return p->NotifyIdle();
        }
        p->Retry();
      });
}

void Publisher::Retry() {
  waiting_ = true;
  std::weak_ptr<Publisher*> weak = self_;
  retry_timer_ = loop_->After(backoff_, [weak]() {
    auto self = weak.lock();
    if (!self || !*self) return;
    (*self)->waiting_ = false;
    (*self)->Kick();
  });
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

void Publisher::Delivered() {
  queue_.pop_front();
  backoff_ = kMinBackoff;
  if (queue_.empty()) return NotifyIdle();
  Kick();
}

void Publisher::NotifyIdle() {
  std::vector<std::function<void()>> waiters = std::move(idle_waiters_);
  idle_waiters_.clear();
  for (auto& fn : waiters) loop_->Post(std::move(fn));
}

}  // namespace berth::shim
