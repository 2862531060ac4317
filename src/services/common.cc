#include "services/common.h"

#include "absl/strings/str_cat.h"
#include "base/identifiers.h"
#include "base/log.h"
#include "base/status.h"

namespace berth::services {

namespace {
// 0001-01-01T00:00:00Z, Go's zero time.
constexpr int64_t kGoZeroSeconds = -62135596800;

std::optional<std::string> Header(const grpc::ServerContextBase* ctx, absl::string_view key) {
  const auto& md = ctx->client_metadata();
  auto it = md.find(grpc::string_ref(key.data(), key.size()));
  if (it == md.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}
}  // namespace

absl::StatusOr<RequestContext> Required(const grpc::ServerContextBase* ctx) {
  RequestContext rc;
  std::optional<std::string> ns = Header(ctx, kNamespaceHeader);
  if (!ns || ns->empty()) return ErrFailedPrecondition("namespace is required");
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(*ns), "namespace validation"));
  rc.ns = std::move(*ns);
  rc.lease = Header(ctx, kLeaseHeader);
  if (rc.lease && rc.lease->empty()) rc.lease.reset();
  return rc;
}

grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == absl::StatusCode::kInternal ||
      status.code() == absl::StatusCode::kDataLoss ||
      status.code() == absl::StatusCode::kUnknown) {
    log::Error("request failed", {{"error", status.ToString()}});
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* ctx, const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  google::protobuf::Timestamp ts;
  int64_t nanos = absl::ToUnixNanos(t);
  int64_t secs = nanos / 1000000000;
  int64_t rem = nanos % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(rem));
  return ts;
}

std::optional<absl::Time> FromProto(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() <= kGoZeroSeconds || (ts.seconds() == 0 && ts.nanos() == 0)) {
    return std::nullopt;
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Any ToProto(const metadata::Any& any) {
  google::protobuf::Any out;
  out.set_type_url(any.type_url);
  out.set_value(any.value);
  return out;
}

metadata::Any FromProto(const google::protobuf::Any& any) {
  return metadata::Any{.type_url = any.type_url(), .value = any.value()};
}

}  // namespace berth::services
