#include "client/import.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "client/remote_content.h"
#include "client/temporary_lease.h"
#include "images/archive_import.h"
#include "images/platforms.h"
#include "images/reference.h"
#include "images/walk.h"

namespace berth::client {

namespace {

Image NewImage(std::string name, const images::Descriptor& target) {
  Image image;
  image.set_name(std::move(name));
  *image.mutable_target() = DescriptorToProto(target);
  return image;
}

}  // namespace

std::string DefaultImportPrefix() {
  return absl::StrCat("import-", absl::FormatTime("%Y-%m-%d", absl::Now(), absl::LocalTimeZone()));
}

absl::StatusOr<std::vector<Image>> ImportImages(Client& client, int fd,
                                                const ImportOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TemporaryLease> lease, TemporaryLease::Begin(client));
  RemoteContentStore cs(client);
  cs.set_write_progress(options.write_progress);

  const std::string prefix = options.base_name.empty() ? DefaultImportPrefix() : options.base_name;
  images::ImportOptions archive_options{
      .compress_layers = options.compress_blobs,
      .ref_translator = options.base_name.empty() ? images::AddRefPrefix(prefix)
                                                  : images::FilterRefPrefix(prefix),
  };
  ASSIGN_OR_RETURN(images::ImportResult imported, images::ImportArchive(fd, cs, archive_options));

  std::vector<Image> records;
  if (!options.index_name.empty()) records.push_back(NewImage(options.index_name, imported.index));
  for (const images::ImportedImage& entry : imported.images) {
    if (!entry.name.empty()) records.push_back(NewImage(entry.name, entry.target));
    if (options.digests) {
      records.push_back(
          NewImage(absl::StrCat(prefix, "@", entry.target.digest.str()), entry.target));
    }
  }

  images::Matcher labels_platform = options.all_platforms ? images::Matcher::All()
                                    : options.platform.has_value()
                                        ? images::Matcher::OnlyStrict(*options.platform)
                                        : images::Matcher::Default();
  RETURN_IF_ERROR(images::SetChildrenLabels(cs, imported.index, labels_platform));

  for (Image& record : records) {
    ASSIGN_OR_RETURN(record, PutImage(client, record, {"target"}));
  }

  if (options.unpack) {
    UnpackOptions unpack{
        .snapshotter = options.snapshotter,
        .platform = options.platform.has_value() ? images::Matcher::OnlyStrict(*options.platform)
                                                 : images::Matcher::Default(),
    };
    for (const Image& record : records) {
      if (options.on_unpack) options.on_unpack(record, false);
      RETURN_IF_ERROR(UnpackImage(client, record, unpack).status());
      if (options.on_unpack) options.on_unpack(record, true);
    }
  }
  RETURN_IF_ERROR(lease->End());
  return records;
}

}  // namespace berth::client
