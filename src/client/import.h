// Importing image archives through the daemon's API, as `ctr images import` does by default
// (containerd's Client.Import followed by image.Unpack for each image):
//
//   1. a lease expiring after 24 h is held around the whole operation (TemporaryLease), so the
//      blobs written are not collected before an image references them;
//   2. the archive (docker-archive or OCI layout, see images/archive_import.h) is streamed into
//      the daemon's content store (RemoteContentStore: one Content/Write stream per blob);
//   3. image names come from the index's annotations: io.containerd.image.name, else the OCI
//      ref name, turned into a full name with `base_name` (ctr --base-name) or, without it, the
//      prefix "import-<yyyy-mm-dd>" for bare tags; with `digests`, each manifest also gets the
//      name "<prefix>@<digest>";
//   4. the gc.ref labels are set from the index down for the platform (SetChildrenLabels), so
//      that an image keeps its manifests, config and layers alive;
//   5. each image record is stored: Update(target), and Create when that says NotFound;
//   6. unless `unpack` is false, each image is unpacked into `snapshotter` (see unpack.h).
//
// Platforms, as ctr: the gc labels follow the host's platforms (Matcher::Default), `platform`
// (OnlyStrict) or every platform (`all_platforms`); unpacking uses `platform` if given, else the
// host's platforms.
//
// Errors: the archive's (InvalidArgument, see ImportArchive), the daemon's, unchanged, and
// NotFound "image might be filtered out: not found" when nothing in the archive is for the
// platform. Blobs written before a failure are left to the lease (collected once it is gone).
// Thread-safety: uses the Client's lease (see TemporaryLease); one call per Client at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/images.h"
#include "client/unpack.h"
#include "images/types.h"

namespace berth::client {

struct ImportOptions {
  std::string base_name;   // ctr --base-name: keep only names under it, name bare tags with it
  bool digests = false;    // ctr --digests: also name each manifest "<prefix>@<digest>"
  std::string index_name;  // ctr --index-name: an image whose target is the whole index
  std::optional<images::Platform> platform;  // ctr --platform
  bool all_platforms = false;                // ctr --all-platforms
  bool compress_blobs = false;               // ctr --compress-blobs (docker archives)
  bool unpack = true;                        // ctr --no-unpack clears it
  std::string snapshotter = kDefaultSnapshotter;

  // Called with the size of each chunk sent to the content store, for a progress bar.
  std::function<void(int64_t bytes)> write_progress;
  // Called before (done = false) and after (done = true) each image is unpacked.
  std::function<void(const Image& image, bool done)> on_unpack;
};

// Reads an archive from `fd` (not closed) to its end, and returns the images stored, in the
// index's order.
absl::StatusOr<std::vector<Image>> ImportImages(Client& client, int fd,
                                                const ImportOptions& options = {});

// ctr's default --base-name: "import-<yyyy-mm-dd>" for today (local time).
std::string DefaultImportPrefix();

}  // namespace berth::client
