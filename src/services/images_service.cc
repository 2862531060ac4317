#include "services/images_service.h"

#include "api/time.h"
#include "base/log.h"
#include "base/status.h"
#include "github.com/containerd/containerd/api/events/image.pb.h"
#include "services/common.h"

namespace berth::services {

namespace api = containerd::services::images::v1;

namespace {

void ImageToProto(const metadata::Image& in, api::Image* out) {
  out->set_name(in.name);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
  auto* t = out->mutable_target();
  t->set_media_type(in.target.media_type);
  t->set_digest(in.target.digest);
  t->set_size(in.target.size);
  t->mutable_annotations()->insert(in.target.annotations.begin(), in.target.annotations.end());
  *out->mutable_created_at() = berth::api::ToTimestamp(in.created_at);
  *out->mutable_updated_at() = berth::api::ToTimestamp(in.updated_at);
}

metadata::Image ImageFromProto(const api::Image& in) {
  metadata::Image image;
  image.name = in.name();
  image.labels = Labels(in.labels().begin(), in.labels().end());
  image.target.media_type = in.target().media_type();
  image.target.digest = in.target().digest();
  image.target.size = in.target().size();
  image.target.annotations =
      Labels(in.target().annotations().begin(), in.target().annotations().end());
  return image;
}

}  // namespace

void ImagesService::Publish(absl::string_view ns, absl::string_view topic,
                            const google::protobuf::Message& event) {
  absl::Status status = exchange_->Publish(ns, topic, events::PackEvent(event));
  if (!status.ok()) log::Warn("publish event", {{"topic", topic}, {"error", status.ToString()}});
}

grpc::ServerUnaryReactor* ImagesService::Get(grpc::CallbackServerContext* ctx,
                                             const api::GetImageRequest* req,
                                             api::GetImageResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto image = store_->Get(rc->ns, req->name());
  if (!image.ok()) return Finish(ctx, image.status());
  ImageToProto(*image, resp->mutable_image());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ImagesService::List(grpc::CallbackServerContext* ctx,
                                              const api::ListImagesRequest* req,
                                              api::ListImagesResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  auto images = store_->List(rc->ns, filters);
  if (!images.ok()) return Finish(ctx, images.status());
  for (const metadata::Image& image : *images) ImageToProto(image, resp->add_images());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ImagesService::Create(grpc::CallbackServerContext* ctx,
                                                const api::CreateImageRequest* req,
                                                api::CreateImageResponse* resp) {
  if (req->image().name().empty()) return Finish(ctx, ErrInvalidArgument("Image.Name required"));
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto created = store_->Create(rc->ns, ImageFromProto(req->image()));
  if (!created.ok()) return Finish(ctx, created.status());
  ImageToProto(*created, resp->mutable_image());
  containerd::services::images::v1::ImageCreate event;
  event.set_name(created->name);
  event.mutable_labels()->insert(created->labels.begin(), created->labels.end());
  Publish(rc->ns, "/images/create", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ImagesService::Update(grpc::CallbackServerContext* ctx,
                                                const api::UpdateImageRequest* req,
                                                api::UpdateImageResponse* resp) {
  if (req->image().name().empty()) return Finish(ctx, ErrInvalidArgument("Image.Name required"));
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto updated = store_->Update(rc->ns, ImageFromProto(req->image()), paths);
  if (!updated.ok()) return Finish(ctx, updated.status());
  ImageToProto(*updated, resp->mutable_image());
  containerd::services::images::v1::ImageUpdate event;
  event.set_name(updated->name);
  event.mutable_labels()->insert(updated->labels.begin(), updated->labels.end());
  Publish(rc->ns, "/images/update", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ImagesService::Delete(grpc::CallbackServerContext* ctx,
                                                const api::DeleteImageRequest* req,
                                                google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  absl::Status st = store_->Delete(rc->ns, req->name());
  if (!st.ok()) return Finish(ctx, st);
  containerd::services::images::v1::ImageDelete event;
  event.set_name(req->name());
  Publish(rc->ns, "/images/delete", event);
  if (req->sync() && collect_) return Finish(ctx, collect_());
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
