// containerd.services.version.v1.Version: the daemon's version and revision.
#pragma once

#include "github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h"

namespace berth::services {

class VersionService final : public containerd::services::version::v1::Version::CallbackService {
 public:
  VersionService(std::string version, std::string revision)
      : version_(std::move(version)), revision_(std::move(revision)) {}

  grpc::ServerUnaryReactor* Version(grpc::CallbackServerContext* ctx,
                                    const google::protobuf::Empty* req,
                                    containerd::services::version::v1::VersionResponse* resp)
      override;

 private:
  const std::string version_;
  const std::string revision_;
};

}  // namespace berth::services
