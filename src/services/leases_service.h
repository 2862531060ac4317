// containerd.services.leases.v1.Leases over the metadata store. Creating a lease that carries
// `containerd.io/gc.expire` pokes the reaper so the lease is removed on time.
#pragma once

#include "github.com/containerd/containerd/api/services/leases/v1/leases.grpc.pb.h"
#include "metadata/lease_reaper.h"
#include "metadata/leases.h"

namespace berth::services {

class LeasesService final : public containerd::services::leases::v1::Leases::CallbackService {
 public:
  LeasesService(metadata::LeaseStore* store, metadata::LeaseReaper* reaper)
      : store_(store), reaper_(reaper) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx,
                                   const containerd::services::leases::v1::CreateRequest* req,
                                   containerd::services::leases::v1::CreateResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::leases::v1::DeleteRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::leases::v1::ListRequest* req,
                                 containerd::services::leases::v1::ListResponse* resp) override;
  grpc::ServerUnaryReactor* AddResource(
      grpc::CallbackServerContext* ctx,
      const containerd::services::leases::v1::AddResourceRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* DeleteResource(
      grpc::CallbackServerContext* ctx,
      const containerd::services::leases::v1::DeleteResourceRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* ListResources(
      grpc::CallbackServerContext* ctx,
      const containerd::services::leases::v1::ListResourcesRequest* req,
      containerd::services::leases::v1::ListResourcesResponse* resp) override;

 private:
  metadata::LeaseStore* store_;
  metadata::LeaseReaper* reaper_;
};

}  // namespace berth::services
