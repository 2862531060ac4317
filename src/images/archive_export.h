// Exporting images from a content store as an OCI image layout tar, as containerd 1.6's
// images/archive.Export (what `ctr images export` writes):
//
//   oci-layout        {"imageLayoutVersion":"1.0.0"}
//   index.json        one entry per exported image: its target descriptor, with the annotations
//                     io.containerd.image.name=<name> and org.opencontainers.image.ref.name=<tag>
//   blobs/<alg>/<hex> every blob the targets reference
//   manifest.json     (unless skipped) Docker's format, so `docker load` accepts the archive:
//                     per manifest, its config and layer paths and the familiar names
//                     (busybox:latest) of the images that resolve to it
//
// Members are sorted by name with mtime 0 and uid/gid 0, so the same images always give the same
// bytes. Blobs are streamed from the store (never whole in memory) and their digests verified
// while written.
//
// Platforms: for an index target, `platform` decides which manifests are exported (all of them
// if unset, or with all_platforms) and which one manifest.json names (the best match; none if
// unset). ctr export passes Matcher::DefaultStrict() unless --platform is given.
//
// Errors, all reported before the first byte is written unless a blob changes underneath:
// InvalidArgument "only manifests may be exported" for a target that is neither manifest nor
// index; NotFound for a missing blob ("content digest <d>: not found") or "no manifest found for
// platform" when an index has no match; InvalidArgument for malformed documents or a blob whose
// size differs from its descriptor; errors writing `output_fd` as ErrnoError-style statuses.
// After an error the output is incomplete and must be discarded.
//
// Thread-safety: stateless; safe to run concurrently if the store is.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "content/store.h"
#include "images/platforms.h"
#include "images/types.h"

namespace berth::images {

struct ExportImage {
  // The image's name (docker.io/library/busybox:latest); empty to export `target` with its
  // annotations as they are (containerd's WithManifest without names).
  std::string name;
  Descriptor target;  // a manifest or an index
};

struct ExportOptions {
  std::optional<Matcher> platform;      // archive.WithPlatform
  bool all_platforms = false;           // archive.WithAllPlatforms
  bool skip_docker_manifest = false;    // archive.WithSkipDockerManifest
  bool skip_non_distributable = false;  // archive.WithSkipNonDistributableBlobs
};

// Writes the archive of `images` to `output_fd` (not closed). At least one image is required
// (InvalidArgument otherwise).
absl::Status ExportArchive(content::Store& store, std::span<const ExportImage> images,
                           int output_fd, const ExportOptions& options = {});

}  // namespace berth::images
