#include "services/namespaces_service.h"

#include "base/log.h"
#include "github.com/containerd/containerd/api/events/namespace.pb.h"
#include "services/common.h"

namespace berth::services {

namespace api = containerd::services::namespaces::v1;

namespace {

void NamespaceToProto(const metadata::Namespace& in, api::Namespace* out) {
  out->set_name(in.name);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

metadata::Namespace NamespaceFromProto(const api::Namespace& in) {
  return metadata::Namespace{.name = in.name(), .labels = Labels(in.labels().begin(),
                                                                 in.labels().end())};
}

}  // namespace

void NamespacesService::Publish(grpc::CallbackServerContext* ctx, absl::string_view fallback_ns,
                                absl::string_view topic, const google::protobuf::Message& event) {
  auto rc = Required(ctx);
  absl::string_view ns = rc.ok() ? absl::string_view(rc->ns) : fallback_ns;
  absl::Status status = exchange_->Publish(ns, topic, events::PackEvent(event));
  if (!status.ok()) log::Warn("publish event", {{"topic", topic}, {"error", status.ToString()}});
}

grpc::ServerUnaryReactor* NamespacesService::Get(grpc::CallbackServerContext* ctx,
                                                 const api::GetNamespaceRequest* req,
                                                 api::GetNamespaceResponse* resp) {
  auto ns = store_->Get(req->name());
  if (!ns.ok()) return Finish(ctx, ns.status());
  NamespaceToProto(*ns, resp->mutable_namespace_());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NamespacesService::List(grpc::CallbackServerContext* ctx,
                                                  const api::ListNamespacesRequest*,
                                                  api::ListNamespacesResponse* resp) {
  auto list = store_->List();
  if (!list.ok()) return Finish(ctx, list.status());
  for (const metadata::Namespace& ns : *list) NamespaceToProto(ns, resp->add_namespaces());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NamespacesService::Create(grpc::CallbackServerContext* ctx,
                                                    const api::CreateNamespaceRequest* req,
                                                    api::CreateNamespaceResponse* resp) {
  metadata::Namespace ns = NamespaceFromProto(req->namespace_());
  absl::Status status = store_->Create(ns);
  if (!status.ok()) return Finish(ctx, status);
  *resp->mutable_namespace_() = req->namespace_();
  containerd::events::NamespaceCreate event;
  event.set_name(ns.name);
  event.mutable_labels()->insert(req->namespace_().labels().begin(),
                                 req->namespace_().labels().end());
  Publish(ctx, ns.name, "/namespaces/create", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NamespacesService::Update(grpc::CallbackServerContext* ctx,
                                                    const api::UpdateNamespaceRequest* req,
                                                    api::UpdateNamespaceResponse* resp) {
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto updated = store_->Update(NamespaceFromProto(req->namespace_()), paths);
  if (!updated.ok()) return Finish(ctx, updated.status());
  NamespaceToProto(*updated, resp->mutable_namespace_());
  containerd::events::NamespaceUpdate event;
  event.set_name(updated->name);
  event.mutable_labels()->insert(req->namespace_().labels().begin(),
                                 req->namespace_().labels().end());
  Publish(ctx, updated->name, "/namespaces/update", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* NamespacesService::Delete(grpc::CallbackServerContext* ctx,
                                                    const api::DeleteNamespaceRequest* req,
                                                    google::protobuf::Empty*) {
  absl::Status status = store_->Delete(req->name());
  if (!status.ok()) return Finish(ctx, status);
  containerd::events::NamespaceDelete event;
  event.set_name(req->name());
  Publish(ctx, req->name(), "/namespaces/delete", event);
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
