#include "client/introspection.h"

namespace berth::client {

namespace iapi = containerd::services::introspection::v1;

absl::StatusOr<std::vector<Plugin>> ListPlugins(Client& client,
                                                const std::vector<std::string>& filters) {
  iapi::PluginsRequest req;
  for (const auto& f : filters) req.add_filters(f);
  iapi::PluginsResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.introspection().Plugins(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<Plugin>(std::make_move_iterator(resp.mutable_plugins()->begin()),
                             std::make_move_iterator(resp.mutable_plugins()->end()));
}

absl::StatusOr<std::string> ServerUuid(Client& client) {
  google::protobuf::Empty req;
  iapi::ServerResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.introspection().Server(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_uuid());
}

}  // namespace berth::client
