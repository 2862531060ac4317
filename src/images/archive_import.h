// Importing image archives into a content store, as containerd 1.6's images/archive.ImportIndex:
//
//  - OCI image layout (oci-layout, index.json, blobs/<alg>/<hex>): every blob is stored;
//    index.json itself is stored and becomes the result's index.
//  - docker-archive (`docker save`, v1.1/v1.2: manifest.json, repositories, <id>/layer.tar,
//    <id>.json configs, symlinked shared layers; newer docker's blobs/sha256/...): every file is
//    stored, then a Docker schema 2 manifest is synthesized per manifest.json entry (layer
//    media types from the layers' magic bytes; like containerd, any compressed layer is labelled
//    gzip; a layer already stored compressed, i.e. a blob labelled containerd.io/uncompressed
//    with the layer's digest, is referenced in its compressed form) with the platform of its
//    config, and an OCI index lists them, one entry per RepoTag, named with the normalised tag
//    (busybox:latest -> docker.io/library/busybox:latest) in the io.containerd.image.name and
//    org.opencontainers.image.ref.name annotations. The JSON is written as Go writes it, so the
//    manifests and the index get the digests containerd gives them.
//  An archive with oci-layout is read as OCI even if it also has manifest.json.
//
// The archive is read once, as a stream (a pipe works): blobs go straight into content Writers,
// never whole into memory; only manifest.json and oci-layout (at most 20 MiB) are buffered.
//
// Stricter than containerd, so that a damaged archive fails here rather than at unpack time:
//  - member names that are absolute or contain ".." are refused;
//  - a blob named blobs/<alg>/<hex> must have that digest: on a mismatch its ingest is aborted,
//    nothing is committed for it;
//  - index.json must parse strictly, and every descriptor it lists must be in the archive (or
//    already in the store) with the size it claims; manifests and nested indexes that are present
//    are parsed strictly too, and a present manifest's config and layers must be there (except
//    non-distributable layers). Entries of a nested index may be missing (an archive exported
//    for one platform).
//
// What the importer does not do, because containerd's client does it (ctr import): creating
// image records, choosing names for unnamed images (--base-name, --digests), setting gc.ref
// labels for a platform (images::SetChildrenLabels) and unpacking. Blobs committed before an
// error stay in the store; the caller's lease keeps or drops them, as with containerd.
//
// Errors: InvalidArgument for anything wrong with the archive, naming the member or blob
// ("archive member \"blobs/sha256/…\": digest mismatch: ..."; "unrecognized image format";
// "read archive: Truncated tar archive"); store errors are returned annotated.
//
// Thread-safety: ImportArchive may run concurrently with other imports into the same store
// (ingest refs are unique per call).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "content/store.h"
#include "images/reference.h"
#include "images/types.h"

namespace berth::images {

struct ImportOptions {
  // Gzip-compress uncompressed docker-archive layers (ctr import --compress-blobs); the
  // compressed blob is labelled containerd.io/uncompressed=<layer digest>.
  bool compress_layers = false;
  // Applied to org.opencontainers.image.ref.name when an index entry has no
  // io.containerd.image.name (e.g. AddRefPrefix("import-2024-01-01")); unset keeps it as is.
  RefTranslator ref_translator;
};

struct ImportedImage {
  std::string name;   // empty for an unnamed index entry; the caller may name it by digest
  Descriptor target;  // the index entry, annotations and platform included
};

struct ImportResult {
  Descriptor index;                   // the OCI index written to (or found in) the store
  std::vector<ImportedImage> images;  // one per index entry, in index order
};

// Reads an image archive (tar; gzip- or zstd-compressed tar is accepted too) from `input_fd`
// until its end and imports it into `store`. Does not close `input_fd`.
absl::StatusOr<ImportResult> ImportArchive(int input_fd, content::Store& store,
                                           const ImportOptions& options = {});

}  // namespace berth::images
