// What every gRPC service shares: the request context (namespace and lease from gRPC metadata),
// the one mapping of absl::Status to gRPC status, and proto <-> domain conversion of Any values
// (times: api/time.h). Thread-safety: pure functions.
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "metadata/types.h"

namespace berth::services {

inline constexpr char kNamespaceHeader[] = "containerd-namespace";
inline constexpr char kLeaseHeader[] = "containerd-lease";

// What a request carries besides its message.
struct RequestContext {
  std::string ns;                    // validated namespace
  std::optional<std::string> lease;  // from `containerd-lease`, if sent
};

// The namespace a namespaced call must carry: FailedPrecondition "namespace is required" when
// missing, InvalidArgument when not an identifier.
absl::StatusOr<RequestContext> Required(const grpc::ServerContextBase* ctx);

// The one place absl::Status becomes a gRPC status: the codes are the same numbers; the message
// stays as containerd would print it.
grpc::Status ToGrpc(const absl::Status& status);

// Finishes a unary callback call with `status`.
grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& status);

google::protobuf::Any ToProto(const metadata::Any& any);
metadata::Any FromProto(const google::protobuf::Any& any);

}  // namespace berth::services
