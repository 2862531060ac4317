// Helpers shared by the API-level integration tests: building containers and Anys the way
// containerd's clients do, asserting on gRPC codes and messages, and an event stream that
// collects envelopes on gRPC's callback threads (so many streams need no thread each).
// Thread-safety: EventStream is internally synchronized; the rest are pure functions.
#pragma once

#include <google/protobuf/any.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "client/containers.h"

namespace berth::test {

inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kSpecJson[] =
    R"({"ociVersion":"1.0.2","process":{"args":["sh"],"cwd":"/"},"root":{"path":"rootfs"}})";
inline constexpr char kRuncV2[] = "io.containerd.runc.v2";

inline google::protobuf::Any MakeAny(std::string type_url, std::string value) {
  google::protobuf::Any any;
  any.set_type_url(std::move(type_url));
  any.set_value(std::move(value));
  return any;
}

// A container as `ctr c create` would send it: a runtime name and an OCI spec, nothing else.
inline client::Container MakeContainer(std::string id) {
  client::Container c;
  c.set_id(std::move(id));
  c.mutable_runtime()->set_name(kRuncV2);
  *c.mutable_spec() = MakeAny(kSpecTypeUrl, kSpecJson);
  return c;
}

// Asserts `status` has `code` and (when given) that its message contains `message_part`.
inline ::testing::AssertionResult HasCode(const absl::Status& status, absl::StatusCode code,
                                          absl::string_view message_part = "") {
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "expected " << absl::StatusCodeToString(code) << ", got " << status;
  }
  if (!absl::StrContains(status.message(), message_part)) {
    return ::testing::AssertionFailure()
           << "message \"" << status.message() << "\" lacks \"" << message_part << "\"";
  }
  return ::testing::AssertionSuccess();
}

template <typename T>
::testing::AssertionResult HasCode(const absl::StatusOr<T>& s, absl::StatusCode code,
                                   absl::string_view message_part = "") {
  return HasCode(s.status(), code, message_part);
}

// Deterministic bytes of `m` (map entries sorted), for equality of whole messages. (Not
// MessageDifferencer: it tries to unpack Anys whose types, like the OCI spec, are not protos.)
inline std::string Canonical(const google::protobuf::Message& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream sos(&out);
    google::protobuf::io::CodedOutputStream cos(&sos);
    cos.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&cos);
  }
  return out;
}

inline ::testing::AssertionResult SameMessage(const google::protobuf::Message& a,
                                              const google::protobuf::Message& b) {
  if (Canonical(a) == Canonical(b)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a.DebugString() << "\n--- differs from ---\n"
                                       << b.DebugString();
}

// One Events/Subscribe stream driven by gRPC's callback API; envelopes are collected in order.
// The destructor cancels the stream and waits for gRPC to finish with it.
class EventStream final
    : public grpc::ClientReadReactor<containerd::services::events::v1::Envelope> {
 public:
  using Envelope = containerd::services::events::v1::Envelope;

  // Starts the stream on `stub` with `ctx` (which must carry no deadline).
  EventStream(containerd::services::events::v1::Events::Stub* stub,
              std::unique_ptr<grpc::ClientContext> ctx, const std::vector<std::string>& filters);
  // Convenience: a stream on `client`'s channel with its namespace header.
  EventStream(client::Client& client, const std::vector<std::string>& filters)
      : EventStream(&client.events(), client.NewStreamContext(), filters) {}
  ~EventStream() override;

  // True once the server has sent the stream's headers (berthd subscribes before sending them).
  bool WaitLive(absl::Duration timeout);
  // Waits until an envelope with `topic` arrived; returns it (or nullopt on timeout).
  std::optional<Envelope> WaitForTopic(absl::string_view topic, absl::Duration timeout);
  // Waits until at least `n` envelopes arrived.
  bool WaitForCount(size_t n, absl::Duration timeout);
  std::vector<Envelope> Received();
  size_t ReceivedCount();
  // Cancels the stream from the client side (like a subscriber going away).
  void Cancel() { ctx_->TryCancel(); }
  // Waits for the stream to end; its final status, or nullopt on timeout.
  std::optional<grpc::Status> WaitDone(absl::Duration timeout);

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  containerd::services::events::v1::SubscribeRequest req_;
  Envelope current_;  // the read in flight; touched only by gRPC's reaction callbacks
  absl::Mutex mu_;
  bool live_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::vector<Envelope> received_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::test
