#include "client/export.h"

#include "base/status.h"
#include "client/images.h"
#include "client/remote_content.h"
#include "images/archive_export.h"
#include "images/platforms.h"

namespace berth::client {

absl::Status ExportImages(Client& client, const std::vector<std::string>& names, int fd,
                          const ExportOptions& options) {
  std::vector<images::ExportImage> exported;
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(Image image, GetImage(client, name));
    ASSIGN_OR_RETURN(images::Descriptor target, DescriptorFromProto(image.target()));
    exported.push_back(images::ExportImage{.name = name, .target = std::move(target)});
  }
  images::ExportOptions archive_options{
      .platform = options.platforms.empty() ? images::Matcher::DefaultStrict()
                                            : images::Matcher::Ordered(options.platforms),
      .all_platforms = options.all_platforms,
      .skip_docker_manifest = options.skip_manifest_json,
      .skip_non_distributable = options.skip_non_distributable,
  };
  RemoteContentStore cs(client);
  return images::ExportArchive(cs, exported, fd, archive_options);
}

}  // namespace berth::client
