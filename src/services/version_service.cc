#include "services/version_service.h"

#include "services/common.h"

namespace berth::services {

grpc::ServerUnaryReactor* VersionService::Version(
    grpc::CallbackServerContext* ctx, const google::protobuf::Empty*,
    containerd::services::version::v1::VersionResponse* resp) {
  resp->set_version(version_);
  resp->set_revision(revision_);
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
