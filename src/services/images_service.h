// containerd.services.images.v1.Images over the metadata image store; publishes /images/create,
// /images/update and /images/delete. Delete with `sync` waits for a garbage collection.
#pragma once

#include <functional>

#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "metadata/images.h"

namespace berth::services {

class ImagesService final : public containerd::services::images::v1::Images::CallbackService {
 public:
  // `collect` runs a garbage collection and returns when it is done (for Delete with sync).
  ImagesService(metadata::ImageStore* store, events::Exchange* exchange,
                std::function<absl::Status()> collect)
      : store_(store), exchange_(exchange), collect_(std::move(collect)) {}

  grpc::ServerUnaryReactor* Get(grpc::CallbackServerContext* ctx,
                                const containerd::services::images::v1::GetImageRequest* req,
                                containerd::services::images::v1::GetImageResponse* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx,
                                 const containerd::services::images::v1::ListImagesRequest* req,
                                 containerd::services::images::v1::ListImagesResponse* resp) override;
  grpc::ServerUnaryReactor* Create(
      grpc::CallbackServerContext* ctx,
      const containerd::services::images::v1::CreateImageRequest* req,
      containerd::services::images::v1::CreateImageResponse* resp) override;
  grpc::ServerUnaryReactor* Update(
      grpc::CallbackServerContext* ctx,
      const containerd::services::images::v1::UpdateImageRequest* req,
      containerd::services::images::v1::UpdateImageResponse* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::images::v1::DeleteImageRequest* req,
                                   google::protobuf::Empty* resp) override;

 private:
  void Publish(absl::string_view ns, absl::string_view topic, const google::protobuf::Message& e);

  metadata::ImageStore* store_;
  events::Exchange* exchange_;
  std::function<absl::Status()> collect_;
};

}  // namespace berth::services
