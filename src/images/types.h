// OCI and Docker schema 2 image documents: descriptors, manifests, indexes (manifest lists) and
// image configs, with their media types (containerd's images/mediatypes.go and image-spec v1).
//
// Parsing is strict and never throws: bad JSON, a schemaVersion other than 2, a missing or
// malformed digest, a negative size, a field of the wrong type, a document of the other kind
// (an index where a manifest is expected, as containerd's validateMediaType), or a schema 1
// manifest give InvalidArgument "invalid <kind> <name>: <what>", where <name> is what the caller
// passes (usually the blob's digest). Unknown fields are ignored, as Go's decoder does.
//
// Marshalling writes JSON byte for byte as Go's encoding/json writes the image-spec structs
// (field order, omitted empty fields, HTML-safe escapes), so that documents berth synthesizes
// (the docker-archive importer's manifests and index) have the digests containerd gives them.
// Fields not modelled here (descriptor "data" and "artifactType", manifest "subject") are
// dropped by a parse + marshal round trip: never re-marshal a document to store it in place of
// the original bytes.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "base/digest.h"

namespace berth::images {

// --- media types ---------------------------------------------------------------------------------

inline constexpr char kMediaTypeDockerManifest[] =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr char kMediaTypeDockerManifestList[] =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr char kMediaTypeDockerConfig[] = "application/vnd.docker.container.image.v1+json";
inline constexpr char kMediaTypeDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kMediaTypeDockerLayerGzip[] =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr char kMediaTypeDockerLayerForeign[] =
    "application/vnd.docker.image.rootfs.foreign.diff.tar";
inline constexpr char kMediaTypeDockerLayerForeignGzip[] =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
inline constexpr char kMediaTypeDockerSchema1Manifest[] =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

inline constexpr char kMediaTypeOciManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMediaTypeOciIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kMediaTypeOciConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kMediaTypeOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kMediaTypeOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kMediaTypeOciLayerNonDistributable[] =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr char kMediaTypeOciLayerNonDistributableGzip[] =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr char kMediaTypeOciLayerNonDistributableZstd[] =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

// containerd's checkpoint config types count as configs for GC labels (images.IsKnownConfig).
inline constexpr char kMediaTypeContainerdCheckpoint[] =
    "application/vnd.containerd.container.criu.checkpoint.criu.tar";
inline constexpr char kMediaTypeContainerdCheckpointConfig[] =
    "application/vnd.containerd.container.checkpoint.config.v1+proto";

// --- annotations ---------------------------------------------------------------------------------

// The full image name on an index.json entry (containerd's images.AnnotationImageName).
inline constexpr char kAnnotationImageName[] = "io.containerd.image.name";
// The OCI reference name: only the tag part of a name (ocispec.AnnotationRefName).
inline constexpr char kAnnotationRefName[] = "org.opencontainers.image.ref.name";

// Label on a compressed layer blob naming its uncompressed digest.
inline constexpr char kLabelUncompressed[] = "containerd.io/uncompressed";

// A Docker schema 2 or OCI manifest type (schema 1 is not supported, as in containerd).
bool IsManifest(absl::string_view media_type);
// An OCI index or a Docker manifest list.
bool IsIndex(absl::string_view media_type);
// A layer (any OCI layer type, or a Docker diff type with or without "+" suffixes).
bool IsLayer(absl::string_view media_type);
// An OCI or Docker image config.
bool IsConfig(absl::string_view media_type);
// IsConfig or a containerd checkpoint config (images.IsKnownConfig).
bool IsKnownConfig(absl::string_view media_type);
// A non-distributable (foreign) layer.
bool IsNonDistributable(absl::string_view media_type);

enum class Compression { kNone, kGzip, kZstd, kUnknown };

// The compression a layer media type declares (images.DiffCompression). Docker's uncompressed
// diff type is kUnknown: such layers are often compressed anyway, so readers detect it from the
// content. Encrypted or otherwise wrapped types ("+encrypted") are kNone, as in containerd.
// InvalidArgument for a type that is not a layer.
absl::StatusOr<Compression> LayerCompression(absl::string_view media_type);

// The compression the first bytes of a stream show: gzip (1f 8b 08) or zstd (28 b5 2f fd, or a
// skippable frame); kNone otherwise.
Compression DetectCompression(absl::string_view head);

// --- documents -----------------------------------------------------------------------------------

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  bool operator==(const Platform&) const = default;
};

using Annotations = std::map<std::string, std::string>;

// Built with designated initializers: like content::Info, a Descriptor always has a digest.
struct Descriptor {
  std::string media_type;
  berth::Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  Annotations annotations;
  std::optional<Platform> platform;
  bool operator==(const Descriptor&) const = default;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;  // empty for an OCI manifest that omits it
  Descriptor config;
  std::vector<Descriptor> layers;
  Annotations annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;  // empty for an OCI index that omits it
  std::vector<Descriptor> manifests;
  Annotations annotations;
};

struct ImageConfig {
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::string rootfs_type;              // "layers"
  std::vector<berth::Digest> diff_ids;  // rootfs.diff_ids, bottom layer first
  std::string raw;                      // the whole document, for fields not modelled here
};

// `name` only labels errors ("invalid manifest <name>: ..."); pass the blob's digest. Descriptors
// inside manifests and indexes must have a mediaType; a standalone descriptor may omit it.
absl::StatusOr<Descriptor> ParseDescriptor(absl::string_view json, absl::string_view name);
absl::StatusOr<Manifest> ParseManifest(absl::string_view json, absl::string_view name);
absl::StatusOr<Index> ParseIndex(absl::string_view json, absl::string_view name);
absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view json, absl::string_view name);

// Go-compatible JSON (see above); an empty media_type is omitted, as Go's omitempty does.
std::string MarshalDescriptor(const Descriptor& desc);
std::string MarshalManifest(const Manifest& manifest);
std::string MarshalIndex(const Index& index);

// A JSON string literal (with quotes) escaped as Go's encoding/json escapes it.
std::string GoJsonQuote(absl::string_view s);

}  // namespace berth::images
