#include "client/events.h"

namespace berth::client {

namespace eapi = containerd::services::events::v1;

absl::Status Subscribe(Client& client, grpc::ClientContext& ctx,
                       const std::vector<std::string>& filters, const EventHandler& handler) {
  eapi::SubscribeRequest req;
  for (const auto& f : filters) req.add_filters(f);
  auto reader = client.events().Subscribe(&ctx, req);
  Envelope envelope;
  bool stopped = false;
  while (reader->Read(&envelope)) {
    if (!handler(envelope)) {
      stopped = true;
      ctx.TryCancel();
      // Drain whatever is in flight so Finish() does not wait on unread messages.
      while (reader->Read(&envelope)) {
      }
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (stopped) return absl::OkStatus();
  return FromGrpc(status);
}

absl::Status PublishEvent(Client& client, std::string_view topic,
                          const google::protobuf::Any& event) {
  eapi::PublishRequest req;
  req.set_topic(std::string(topic));
  *req.mutable_event() = event;
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.events().Publish(ctx.get(), req, &resp));
}

}  // namespace berth::client
