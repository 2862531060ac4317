// A server-streaming reactor that writes a precomputed list of messages, one at a time, and
// finishes. Used by list-style streaming RPCs (Containers/ListStream). Deletes itself when done.
// Thread-safety: gRPC serializes a reactor's callbacks; no state is shared.
#pragma once

#include <grpcpp/grpcpp.h>

#include <vector>

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

}  // namespace berth::services
