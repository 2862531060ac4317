#include "test/api_helpers.h"

namespace berth::test {

EventStream::EventStream(containerd::services::events::v1::Events::Stub* stub,
                         std::unique_ptr<grpc::ClientContext> ctx,
                         const std::vector<std::string>& filters)
    : ctx_(std::move(ctx)) {
  for (const std::string& f : filters) req_.add_filters(f);
  stub->async()->Subscribe(ctx_.get(), &req_, this);
  StartRead(&current_);
  StartCall();
}

EventStream::~EventStream() {
  ctx_->TryCancel();
  WaitDone(absl::Seconds(30));
}

void EventStream::OnReadInitialMetadataDone(bool ok) {
  absl::MutexLock lock(&mu_);
  live_ = ok;
}

void EventStream::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended; OnDone follows
  {
    absl::MutexLock lock(&mu_);
    // A stream whose first message arrives with its headers is live too.
    live_ = true;
    received_.push_back(current_);
  }
  StartRead(&current_);
}

void EventStream::OnDone(const grpc::Status& status) {
  absl::MutexLock lock(&mu_);
  status_ = status;
  done_ = true;
}

bool EventStream::WaitLive(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto cond = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return live_ || done_; };
  mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  return live_;
}

std::optional<EventStream::Envelope> EventStream::WaitForTopic(absl::string_view topic,
                                                               absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  std::optional<Envelope> found;
  auto cond = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    for (const Envelope& e : received_) {
      if (e.topic() == topic) {
        found = e;
        return true;
      }
    }
    return done_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  return found;
}

bool EventStream::WaitForCount(size_t n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto cond = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return received_.size() >= n || done_; };
  mu_.AwaitWithTimeout(absl::Condition(&cond), timeout);
  return received_.size() >= n;
}

std::vector<EventStream::Envelope> EventStream::Received() {
  absl::MutexLock lock(&mu_);
  return received_;
}

size_t EventStream::ReceivedCount() {
  absl::MutexLock lock(&mu_);
  return received_.size();
}

std::optional<grpc::Status> EventStream::WaitDone(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto cond = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&cond), timeout)) return std::nullopt;
  return status_;
}

}  // namespace berth::test
