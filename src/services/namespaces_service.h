// containerd.services.namespaces.v1.Namespaces over the metadata store; publishes
// /namespaces/create, /namespaces/update and /namespaces/delete.
#pragma once

#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/namespaces/v1/namespace.grpc.pb.h"
#include "metadata/namespaces.h"

namespace berth::services {

class NamespacesService final
    : public containerd::services::namespaces::v1::Namespaces::CallbackService {
 public:
  NamespacesService(metadata::NamespaceStore* store, events::Exchange* exchange)
      : store_(store), exchange_(exchange) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::namespaces::v1::GetNamespaceRequest* req,
                                containerd::services::namespaces::v1::GetNamespaceResponse* resp)
      override;
  grpc::ServerUnaryReactor* List(
      grpc::CallbackServerContext* ctx,
      const containerd::services::namespaces::v1::ListNamespacesRequest* req,
      containerd::services::namespaces::v1::ListNamespacesResponse* resp) override;
  grpc::ServerUnaryReactor* Create(
      grpc::CallbackServerContext* ctx,
      const containerd::services::namespaces::v1::CreateNamespaceRequest* req,
      containerd::services::namespaces::v1::CreateNamespaceResponse* resp) override;
  grpc::ServerUnaryReactor* Update(
      grpc::CallbackServerContext* ctx,
      const containerd::services::namespaces::v1::UpdateNamespaceRequest* req,
      containerd::services::namespaces::v1::UpdateNamespaceResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(
      grpc::CallbackServerContext* ctx,
      const containerd::services::namespaces::v1::DeleteNamespaceRequest* req,
      google::protobuf::Empty* resp) override;

 private:
  // Events about namespaces are published in the caller's namespace, like containerd; a caller
  // without one gets them in the namespace concerned.
  void Publish(grpc::CallbackServerContext* ctx, absl::string_view fallback_ns,
               absl::string_view topic, const google::protobuf::Message& event);

  metadata::NamespaceStore* store_;
  events::Exchange* exchange_;
};

}  // namespace berth::services
