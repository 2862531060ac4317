// containerd.services.introspection.v1.Introspection: which plugins this daemon runs (with
// containerd's plugin types and ids, so clients that probe for a plugin find it) and the server's
// persistent UUID.
#pragma once

#include <string>
#include <vector>

#include "github.com/containerd/containerd/api/services/introspection/v1/introspection.grpc.pb.h"

namespace berth::services {

class IntrospectionService final
    : public containerd::services::introspection::v1::Introspection::CallbackService {
 public:
  using Plugin = containerd::services::introspection::v1::Plugin;
  IntrospectionService(std::vector<Plugin> plugins, std::string uuid)
      : plugins_(std::move(plugins)), uuid_(std::move(uuid)) {}

  // Filters over `type` and `id`, like containerd.
  grpc::ServerUnaryReactor* Plugins(
      grpc::CallbackServerContext* ctx,
      const containerd::services::introspection::v1::PluginsRequest* req,
      containerd::services::introspection::v1::PluginsResponse* resp) override;
  grpc::ServerUnaryReactor* Server(
      grpc::CallbackServerContext* ctx, const google::protobuf::Empty* req,
      containerd::services::introspection::v1::ServerResponse* resp) override;

 private:
  const std::vector<Plugin> plugins_;
  const std::string uuid_;
};

}  // namespace berth::services
