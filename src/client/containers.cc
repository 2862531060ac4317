#include "client/containers.h"

#include "absl/strings/str_cat.h"

namespace berth::client {

namespace capi = containerd::services::containers::v1;

namespace {

absl::StatusOr<std::vector<Container>> ListByUnary(Client& client,
                                                   const capi::ListContainersRequest& req) {
  capi::ListContainersResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.containers().List(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<Container>(std::make_move_iterator(resp.mutable_containers()->begin()),
                                std::make_move_iterator(resp.mutable_containers()->end()));
}

}  // namespace

absl::StatusOr<std::vector<Container>> ListContainers(Client& client,
                                                      const std::vector<std::string>& filters) {
  capi::ListContainersRequest req;
  for (const auto& f : filters) req.add_filters(f);

  std::vector<Container> containers;
  auto ctx = client.NewContext();
  auto reader = client.containers().ListStream(ctx.get(), req);
  capi::ListContainerMessage msg;
  while (reader->Read(&msg)) containers.push_back(std::move(*msg.mutable_container()));
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::UNIMPLEMENTED) return ListByUnary(client, req);
  if (!status.ok()) return FromGrpc(status);
  return containers;
}

absl::StatusOr<Container> GetContainer(Client& client, std::string_view id) {
  capi::GetContainerRequest req;
  req.set_id(std::string(id));
  capi::GetContainerResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.containers().Get(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_container());
}

absl::StatusOr<Container> CreateContainer(Client& client, const Container& container) {
  capi::CreateContainerRequest req;
  *req.mutable_container() = container;
  capi::CreateContainerResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.containers().Create(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_container());
}

absl::StatusOr<Container> UpdateContainer(Client& client, const Container& container,
                                          const std::vector<std::string>& field_paths) {
  capi::UpdateContainerRequest req;
  *req.mutable_container() = container;
  if (!field_paths.empty()) {
    auto* mask = req.mutable_update_mask();
    for (const auto& path : field_paths) mask->add_paths(path);
  }
  capi::UpdateContainerResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.containers().Update(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_container());
}

absl::StatusOr<Labels> SetContainerLabels(Client& client, std::string_view id,
                                          const Labels& labels) {
  absl::StatusOr<Container> result;
  if (labels.empty()) {
    // An Update with no mask would replace the whole container: read instead.
    result = GetContainer(client, id);
  } else {
    Container container;
    container.set_id(std::string(id));
    std::vector<std::string> paths;
    for (const auto& [key, value] : labels) {
      (*container.mutable_labels())[key] = value;
      paths.push_back(absl::StrCat("labels.", key));
    }
    result = UpdateContainer(client, container, paths);
  }
  if (!result.ok()) return result.status();
  return Labels(result->labels().begin(), result->labels().end());
}

absl::Status DeleteContainer(Client& client, std::string_view id) {
  capi::DeleteContainerRequest req;
  req.set_id(std::string(id));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.containers().Delete(ctx.get(), req, &resp));
}

}  // namespace berth::client
