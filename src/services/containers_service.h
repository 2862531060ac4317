// containerd.services.containers.v1.Containers over the metadata store; publishes
// /containers/create, /containers/update and /containers/delete.
#pragma once

#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h"
#include "metadata/containers.h"

namespace berth::services {

class ContainersService final
    : public containerd::services::containers::v1::Containers::CallbackService {
 public:
  ContainersService(metadata::ContainerStore* store, events::Exchange* exchange)
      : store_(store), exchange_(exchange) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::containers::v1::GetContainerRequest* req,
                                containerd::services::containers::v1::GetContainerResponse* resp)
      override;
  grpc::ServerUnaryReactor* List(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::ListContainersRequest* req,
      containerd::services::containers::v1::ListContainersResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::containers::v1::ListContainerMessage>* ListStream(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::ListContainersRequest* req) override;
  grpc::ServerUnaryReactor* Create(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::CreateContainerRequest* req,
      containerd::services::containers::v1::CreateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* Update(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::UpdateContainerRequest* req,
      containerd::services::containers::v1::UpdateContainerResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::DeleteContainerRequest* req,
      google::protobuf::Empty* resp) override;

 private:
  absl::StatusOr<std::vector<metadata::Container>> ListFor(
      grpc::CallbackServerContext* ctx,
      const containerd::services::containers::v1::ListContainersRequest* req);
  void Publish(absl::string_view ns, absl::string_view topic, const google::protobuf::Message& e);

  metadata::ContainerStore* store_;
  events::Exchange* exchange_;
};

}  // namespace berth::services
