// containerd.services.leases.v1.Leases over the metadata store. Creating a lease that carries
// `containerd.io/gc.expire` pokes the reaper so the lease is removed on time. Deleting a lease or
// one of its resources marks the garbage collector dirty; Delete with `sync` answers once a
// collection that started after the delete has finished (without holding a thread meanwhile).
#pragma once

#include "github.com/containerd/containerd/api/services/leases/v1/leases.grpc.pb.h"
#include "metadata/gc_scheduler.h"
#include "metadata/lease_reaper.h"
#include "metadata/leases.h"

namespace berth::services {

class LeasesService final : public containerd::services::leases::v1::Leases::CallbackService {
 public:
  // `gc` may be null (no garbage collection: `sync` is then a no-op).
  LeasesService(metadata::LeaseStore* store, metadata::LeaseReaper* reaper,
                metadata::GcScheduler* gc = nullptr)
      : store_(store), reaper_(reaper), gc_(gc) {}

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
  metadata::GcScheduler* gc_;
};

}  // namespace berth::services
