#include "client/namespaces.h"

#include "absl/strings/str_cat.h"

namespace berth::client {

namespace nsapi = containerd::services::namespaces::v1;

absl::StatusOr<std::vector<Namespace>> ListNamespaces(Client& client) {
  nsapi::ListNamespacesRequest req;
  nsapi::ListNamespacesResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.namespaces().List(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<Namespace>(std::make_move_iterator(resp.mutable_namespaces()->begin()),
                                std::make_move_iterator(resp.mutable_namespaces()->end()));
}

absl::StatusOr<Namespace> GetNamespace(Client& client, std::string_view name) {
  nsapi::GetNamespaceRequest req;
  req.set_name(std::string(name));
  nsapi::GetNamespaceResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.namespaces().Get(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_namespace_());
}

absl::Status CreateNamespace(Client& client, std::string_view name, const Labels& labels) {
  nsapi::CreateNamespaceRequest req;
  req.mutable_namespace_()->set_name(std::string(name));
  req.mutable_namespace_()->mutable_labels()->insert(labels.begin(), labels.end());
  nsapi::CreateNamespaceResponse resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.namespaces().Create(ctx.get(), req, &resp));
}

absl::Status SetNamespaceLabels(Client& client, std::string_view name, const Labels& labels) {
  if (labels.empty()) return absl::OkStatus();
  nsapi::UpdateNamespaceRequest req;
  req.mutable_namespace_()->set_name(std::string(name));
  for (const auto& [key, value] : labels) {
    (*req.mutable_namespace_()->mutable_labels())[key] = value;
    req.mutable_update_mask()->add_paths(absl::StrCat("labels.", key));
  }
  nsapi::UpdateNamespaceResponse resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.namespaces().Update(ctx.get(), req, &resp));
}

absl::Status DeleteNamespace(Client& client, std::string_view name) {
  nsapi::DeleteNamespaceRequest req;
  req.set_name(std::string(name));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.namespaces().Delete(ctx.get(), req, &resp));
}

}  // namespace berth::client
