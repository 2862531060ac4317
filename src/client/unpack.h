// Unpacking an image into a snapshotter through the daemon's Snapshots and Diff services, exactly
// as containerd 1.6's client does (image.Unpack + rootfs.ApplyLayerWithOpts), so that berth and
// ctr share snapshots:
//
//   for each layer, bottom up, with chain = identity.ChainID(diff_ids[0..i]):
//     Snapshots.Stat(chain)          exists -> nothing to do for this layer
//     Prepare("extract-<nanos>-<rand> <chain>", parent = previous chain)   (AlreadyExists: new key)
//     Diff.Apply(layer blob, mounts) -> the applied digest must be the config's diff_id
//                                       ("wrong diff id calculated on extraction \"<d>\"")
//     Commit(name = chain, key)      AlreadyExists (unpacked meanwhile) is fine
//     on any failure the extraction snapshot is removed
//     applied layers get the content label containerd.io/uncompressed = diff_id
//   the config blob gets containerd.io/gc.ref.snapshot.<snapshotter> = top chain ID, so that
//   garbage collection keeps the snapshots as long as the image.
//
// The whole unpack runs under a lease (TemporaryLease), so nothing is collected midway.
//
// Errors: the daemon's (NotFound for missing content or an unknown snapshotter, ...), annotated
// with the step ("failed to extract layer <diff_id>: ..."); InvalidArgument "mismatched image
// rootfs and manifest layers" when the config and the manifest disagree.
// Thread-safety: uses the Client's lease (see TemporaryLease); one call per Client at a time.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/images.h"
#include "client/snapshots.h"
#include "images/platforms.h"

namespace berth::client {

struct UnpackOptions {
  std::string snapshotter = kDefaultSnapshotter;
  // Which manifest of an index to unpack (ctr: the host's platforms).
  images::Matcher platform = images::Matcher::Default();
};

struct UnpackResult {
  std::string chain_id;  // of the top layer: the snapshot a container's rootfs is prepared from
  int layers = 0;        // in the image
  int applied = 0;       // extracted now (the others existed already)
};

absl::StatusOr<UnpackResult> UnpackImage(Client& client, const Image& image,
                                         const UnpackOptions& options = {});

// image.IsUnpacked: whether the snapshot of the image's top chain ID exists.
absl::StatusOr<bool> IsUnpacked(Client& client, const Image& image,
                                const UnpackOptions& options = {});

// The key containerd gives an extraction snapshot: "extract-<nanoseconds>-<4 url-safe base64
// characters> <chain ID>" (snapshots.UnpackKeyFormat). Exposed for tests.
std::string ExtractionKey(const std::string& chain_id);

}  // namespace berth::client
