#include "services/introspection_service.h"

#include "base/filters.h"
#include "services/common.h"

namespace berth::services {

grpc::ServerUnaryReactor* IntrospectionService::Plugins(
    grpc::CallbackServerContext* ctx,
    const containerd::services::introspection::v1::PluginsRequest* req,
    containerd::services::introspection::v1::PluginsResponse* resp) {
  std::vector<std::string> fs(req->filters().begin(), req->filters().end());
  auto filter = filters::ParseAll(fs);
  if (!filter.ok()) return Finish(ctx, filter.status());
  for (const Plugin& p : plugins_) {
    auto adaptor = filters::LabelsAdaptor(
        [&p](absl::string_view field) -> std::optional<std::string> {
          if (field == "type") return p.type();
          if (field == "id") return p.id();
          return std::nullopt;
        },
        nullptr);
    if (filter->MatchesAll() || filter->Match(adaptor)) *resp->add_plugins() = p;
  }
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* IntrospectionService::Server(
    grpc::CallbackServerContext* ctx, const google::protobuf::Empty*,
    containerd::services::introspection::v1::ServerResponse* resp) {
  resp->set_uuid(uuid_);
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
