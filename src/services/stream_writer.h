// Server-streaming reactors for the simple cases: a precomputed list of messages written one at a
// time (list-style RPCs such as Containers/ListStream), and a stream that fails before writing.
// Both delete themselves when done.
// Thread-safety: gRPC serializes a reactor's callbacks; no state is shared.
#pragma once

#include <grpcpp/grpcpp.h>

#include <vector>

#include "services/common.h"

namespace berth::services {

template <typename Message>
class VectorWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit VectorWriter(std::vector<Message> messages) : messages_(std::move(messages)) {
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by client"));
      return;
    }
    ++next_;
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (next_ == messages_.size()) {
      this->Finish(grpc::Status::OK);
      return;
    }
    this->StartWrite(&messages_[next_]);
  }

  std::vector<Message> messages_;
  size_t next_ = 0;
};

// Ends a stream with `status` without writing anything.
template <typename Message>
class FailedWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  explicit FailedWriter(const absl::Status& status) { this->Finish(ToGrpc(status)); }
  void OnDone() override { delete this; }
};

}  // namespace berth::services
