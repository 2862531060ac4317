#include "services/common.h"

#include "absl/strings/str_cat.h"
#include "base/identifiers.h"
#include "base/log.h"
#include "base/status.h"

namespace berth::services {

namespace {

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
