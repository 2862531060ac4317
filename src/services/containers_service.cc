#include "services/containers_service.h"

#include "base/log.h"
#include "github.com/containerd/containerd/api/events/container.pb.h"
#include "api/time.h"
#include "services/common.h"
#include "services/stream_writer.h"

namespace berth::services {

namespace api = containerd::services::containers::v1;

namespace {

void ContainerToProto(const metadata::Container& in, api::Container* out) {
  out->set_id(in.id);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
  out->set_image(in.image);
  out->mutable_runtime()->set_name(in.runtime.name);
  if (in.runtime.options) *out->mutable_runtime()->mutable_options() = ToProto(*in.runtime.options);
  if (in.spec) *out->mutable_spec() = ToProto(*in.spec);
  out->set_snapshotter(in.snapshotter);
  out->set_snapshot_key(in.snapshot_key);
  *out->mutable_created_at() = berth::api::ToTimestamp(in.created_at);
  *out->mutable_updated_at() = berth::api::ToTimestamp(in.updated_at);
  for (const auto& [name, ext] : in.extensions) (*out->mutable_extensions())[name] = ToProto(ext);
}

metadata::Container ContainerFromProto(const api::Container& in) {
  metadata::Container c;
  c.id = in.id();
  c.labels = Labels(in.labels().begin(), in.labels().end());
  c.image = in.image();
  c.runtime.name = in.runtime().name();
  if (in.runtime().has_options()) c.runtime.options = FromProto(in.runtime().options());
  if (in.has_spec()) c.spec = FromProto(in.spec());
  c.snapshotter = in.snapshotter();
  c.snapshot_key = in.snapshot_key();
  for (const auto& [name, ext] : in.extensions()) c.extensions[name] = FromProto(ext);
  return c;
}

}  // namespace

void ContainersService::Publish(absl::string_view ns, absl::string_view topic,
                                const google::protobuf::Message& event) {
  absl::Status status = exchange_->Publish(ns, topic, events::PackEvent(event));
  if (!status.ok()) log::Warn("publish event", {{"topic", topic}, {"error", status.ToString()}});
}

grpc::ServerUnaryReactor* ContainersService::Get(grpc::CallbackServerContext* ctx,
                                                 const api::GetContainerRequest* req,
                                                 api::GetContainerResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto c = store_->Get(rc->ns, req->id());
  if (!c.ok()) return Finish(ctx, c.status());
  ContainerToProto(*c, resp->mutable_container());
  return Finish(ctx, absl::OkStatus());
}

absl::StatusOr<std::vector<metadata::Container>> ContainersService::ListFor(
    grpc::CallbackServerContext* ctx, const api::ListContainersRequest* req) {
  auto rc = Required(ctx);
  if (!rc.ok()) return rc.status();
  std::vector<std::string> fs(req->filters().begin(), req->filters().end());
  return store_->List(rc->ns, fs);
}

grpc::ServerUnaryReactor* ContainersService::List(grpc::CallbackServerContext* ctx,
                                                  const api::ListContainersRequest* req,
                                                  api::ListContainersResponse* resp) {
  auto list = ListFor(ctx, req);
  if (!list.ok()) return Finish(ctx, list.status());
  for (const metadata::Container& c : *list) ContainerToProto(c, resp->add_containers());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<api::ListContainerMessage>* ContainersService::ListStream(
    grpc::CallbackServerContext* ctx, const api::ListContainersRequest* req) {
  auto list = ListFor(ctx, req);
  std::vector<api::ListContainerMessage> messages;
  if (!list.ok()) {
    return new FailedWriter<api::ListContainerMessage>(list.status());
  }
  messages.resize(list->size());
  for (size_t i = 0; i < list->size(); ++i) ContainerToProto((*list)[i], messages[i].mutable_container());
  return new VectorWriter<api::ListContainerMessage>(std::move(messages));
}

grpc::ServerUnaryReactor* ContainersService::Create(grpc::CallbackServerContext* ctx,
                                                    const api::CreateContainerRequest* req,
                                                    api::CreateContainerResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto created = store_->Create(rc->ns, ContainerFromProto(req->container()));
  if (!created.ok()) return Finish(ctx, created.status());
  ContainerToProto(*created, resp->mutable_container());

  containerd::events::ContainerCreate event;
  event.set_id(created->id);
  event.set_image(created->image);
  event.mutable_runtime()->set_name(created->runtime.name);
  if (created->runtime.options) {
    *event.mutable_runtime()->mutable_options() = ToProto(*created->runtime.options);
  }
  Publish(rc->ns, "/containers/create", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ContainersService::Update(grpc::CallbackServerContext* ctx,
                                                    const api::UpdateContainerRequest* req,
                                                    api::UpdateContainerResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto updated = store_->Update(rc->ns, ContainerFromProto(req->container()), paths);
  if (!updated.ok()) return Finish(ctx, updated.status());
  ContainerToProto(*updated, resp->mutable_container());

  containerd::events::ContainerUpdate event;
  event.set_id(updated->id);
  event.set_image(updated->image);
  event.mutable_labels()->insert(updated->labels.begin(), updated->labels.end());
  event.set_snapshot_key(updated->snapshot_key);
  Publish(rc->ns, "/containers/update", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ContainersService::Delete(grpc::CallbackServerContext* ctx,
                                                    const api::DeleteContainerRequest* req,
                                                    google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  absl::Status status = store_->Delete(rc->ns, req->id());
  if (!status.ok()) return Finish(ctx, status);
  containerd::events::ContainerDelete event;
  event.set_id(req->id());
  Publish(rc->ns, "/containers/delete", event);
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
