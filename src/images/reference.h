// Image names as the archive importer and exporter need them: Docker reference normalisation
// (containerd's reference/docker ParseDockerRef and FamiliarString, the grammar of
// distribution/reference), the OCI ref-name annotation value, and ctr's --base-name translators.
//
//   NormalizeReference("busybox")            -> "docker.io/library/busybox:latest"
//   NormalizeReference("quay.io/a/b@sha256:…") keeps the digest, drops a tag given with it
//   FamiliarizeReference("docker.io/library/busybox:latest") -> "busybox:latest"
//   OciReferenceName("docker.io/library/busybox:latest")     -> "latest"
//
// Thread-safety: pure functions (the compiled patterns are immutable statics).
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::images {

// The fully qualified form of a Docker reference: default domain docker.io, "library/" for
// official images, tag "latest" when neither tag nor digest is given; a reference with both
// keeps only the digest. InvalidArgument "normalize image ref \"<ref>\": <why>" otherwise (upper
// case in the repository, a 64-hex-digit name, bad syntax, a name over 255 characters).
absl::StatusOr<std::string> NormalizeReference(absl::string_view ref);

// The short form Docker shows (RepoTags in manifest.json): the default domain and "library/"
// removed, tag "latest" added when there is neither tag nor digest. InvalidArgument as above.
absl::StatusOr<std::string> FamiliarizeReference(absl::string_view ref);

// What containerd writes as org.opencontainers.image.ref.name for image `name`: the part after
// the repository (the tag, or "@<digest>", or "tag@digest"); `name` itself when it has no
// host part to split off.
std::string OciReferenceName(absl::string_view name);

// Maps an OCI ref name to an image name; "" drops the image.
using RefTranslator = std::function<std::string(absl::string_view ref_name)>;

// ctr import without --base-name: a bare tag becomes "<image>:<tag>", full references pass.
RefTranslator AddRefPrefix(std::string image);
// ctr import --base-name: like AddRefPrefix, but full references not under `image` are dropped.
RefTranslator FilterRefPrefix(std::string image);

}  // namespace berth::images
