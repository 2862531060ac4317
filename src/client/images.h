// Typed helpers for containerd.services.images.v1.Images (image records: a name, labels and a
// target descriptor), and the conversions between the API's Descriptor and the image library's.
// Errors are the daemon's, unchanged (NotFound "image \"x\": not found", AlreadyExists, ...).
// Thread-safety: as Client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "github.com/containerd/containerd/api/types/descriptor.pb.h"
#include "images/platforms.h"
#include "images/types.h"
#include "images/walk.h"

namespace berth::client {

using Image = containerd::services::images::v1::Image;

absl::StatusOr<Image> GetImage(Client& client, std::string_view name);
// Images of the client's namespace matching any of `filters` (none = all), ordered by name.
absl::StatusOr<std::vector<Image>> ListImages(Client& client,
                                              const std::vector<std::string>& filters = {});
// AlreadyExists if the name is taken.
absl::StatusOr<Image> CreateImage(Client& client, const Image& image);
// Updates the fields `paths` names ("target", "labels", "labels.<key>"; none = all).
// NotFound if there is no image of that name.
absl::StatusOr<Image> UpdateImage(Client& client, const Image& image,
                                  const std::vector<std::string>& paths = {});
// What containerd's client does when it stores an image it imported or pulled: Update `paths`,
// and Create when the image does not exist yet (Update answered NotFound).
absl::StatusOr<Image> PutImage(Client& client, const Image& image,
                               const std::vector<std::string>& paths = {"target"});
// Deletes an image record. With `sync` the daemon collects garbage before answering, so the
// content only this image held is gone when this returns. NotFound if there is no such image.
absl::Status DeleteImage(Client& client, std::string_view name, bool sync = false);

// What `ctr images ls` and `ctr images check` show of an image, read from the daemon's content
// store: its size for `platform` (the root, the chosen manifest, its config and layers:
// images.Image.Size), the platforms it provides, and whether all it needs is present
// (images.Check). Errors as images/walk.h (NotFound for missing content, ...).
absl::StatusOr<int64_t> ImageSize(Client& client, const Image& image,
                                  const images::Matcher& platform = images::Matcher::Default());
absl::StatusOr<std::vector<images::Platform>> ImagePlatforms(Client& client, const Image& image);
absl::StatusOr<images::CheckResult> CheckImage(
    Client& client, const Image& image,
    const images::Matcher& platform = images::Matcher::Default());

// The API's descriptor has no platform and no urls; InvalidArgument for a malformed digest.
absl::StatusOr<images::Descriptor> DescriptorFromProto(const containerd::types::Descriptor& in);
containerd::types::Descriptor DescriptorToProto(const images::Descriptor& in);

}  // namespace berth::client
