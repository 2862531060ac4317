#include "client/images.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "client/remote_content.h"

namespace berth::client {

namespace iapi = containerd::services::images::v1;

absl::StatusOr<Image> GetImage(Client& client, std::string_view name) {
  iapi::GetImageRequest req;
  req.set_name(std::string(name));
  iapi::GetImageResponse resp;
  auto ctx = client.NewContext();
  RETURN_IF_ERROR(FromGrpc(client.images().Get(ctx.get(), req, &resp)));
  return std::move(*resp.mutable_image());
}

absl::StatusOr<std::vector<Image>> ListImages(Client& client,
                                              const std::vector<std::string>& filters) {
  iapi::ListImagesRequest req;
  for (const auto& f : filters) req.add_filters(f);
  iapi::ListImagesResponse resp;
  auto ctx = client.NewContext();
  RETURN_IF_ERROR(FromGrpc(client.images().List(ctx.get(), req, &resp)));
  std::vector<Image> out(std::make_move_iterator(resp.mutable_images()->begin()),
                         std::make_move_iterator(resp.mutable_images()->end()));
  std::sort(out.begin(), out.end(),
            [](const Image& a, const Image& b) { return a.name() < b.name(); });
  return out;
}

absl::StatusOr<Image> CreateImage(Client& client, const Image& image) {
  iapi::CreateImageRequest req;
  *req.mutable_image() = image;
  iapi::CreateImageResponse resp;
  auto ctx = client.NewContext();
  RETURN_IF_ERROR(FromGrpc(client.images().Create(ctx.get(), req, &resp)));
  return std::move(*resp.mutable_image());
}

absl::StatusOr<Image> UpdateImage(Client& client, const Image& image,
                                  const std::vector<std::string>& paths) {
  iapi::UpdateImageRequest req;
  *req.mutable_image() = image;
  for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
  iapi::UpdateImageResponse resp;
  auto ctx = client.NewContext();
  RETURN_IF_ERROR(FromGrpc(client.images().Update(ctx.get(), req, &resp)));
  return std::move(*resp.mutable_image());
}

absl::StatusOr<Image> PutImage(Client& client, const Image& image,
                               const std::vector<std::string>& paths) {
  absl::StatusOr<Image> updated = UpdateImage(client, image, paths);
  if (!absl::IsNotFound(updated.status())) return updated;
  return CreateImage(client, image);
}

absl::Status DeleteImage(Client& client, std::string_view name, bool sync) {
  iapi::DeleteImageRequest req;
  req.set_name(std::string(name));
  req.set_sync(sync);
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.images().Delete(ctx.get(), req, &resp));
}

absl::StatusOr<int64_t> ImageSize(Client& client, const Image& image,
                                  const images::Matcher& platform) {
  ASSIGN_OR_RETURN(images::Descriptor target, DescriptorFromProto(image.target()));
  RemoteContentStore cs(client);
  return images::ImageSize(cs, target, platform);
}

absl::StatusOr<std::vector<images::Platform>> ImagePlatforms(Client& client, const Image& image) {
  ASSIGN_OR_RETURN(images::Descriptor target, DescriptorFromProto(image.target()));
  RemoteContentStore cs(client);
  return images::Platforms(cs, target);
}

absl::StatusOr<images::CheckResult> CheckImage(Client& client, const Image& image,
                                               const images::Matcher& platform) {
  ASSIGN_OR_RETURN(images::Descriptor target, DescriptorFromProto(image.target()));
  RemoteContentStore cs(client);
  return images::Check(cs, target, platform);
}

absl::StatusOr<images::Descriptor> DescriptorFromProto(const containerd::types::Descriptor& in) {
  absl::StatusOr<berth::Digest> digest = berth::Digest::Parse(in.digest());
  if (!digest.ok()) return Annotate(digest.status(), "descriptor");
  return images::Descriptor{
      .media_type = in.media_type(),
      .digest = *std::move(digest),
      .size = in.size(),
      .annotations = images::Annotations(in.annotations().begin(), in.annotations().end()),
  };
}

containerd::types::Descriptor DescriptorToProto(const images::Descriptor& in) {
  containerd::types::Descriptor out;
  out.set_media_type(in.media_type);
  out.set_digest(in.digest.str());
  out.set_size(in.size);
  out.mutable_annotations()->insert(in.annotations.begin(), in.annotations.end());
  return out;
}

}  // namespace berth::client
