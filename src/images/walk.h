// Walking image content in a content store, as containerd's images package does: the children
// of a manifest or index, the manifest an image resolves to for a platform (through nested
// indexes), its config and rootfs, the gc.ref labels that keep children alive, chain IDs, and
// the completeness check behind `ctr images check`.
//
// Documents are read whole (they are small: at most kMaxDocumentSize) and parsed strictly
// (types.h); layers are never read.
//
// Errors: NotFound from the store for a missing blob; InvalidArgument for a malformed document
// or a blob whose size differs from its descriptor; NotFound "no match for platform in manifest
// <digest>: not found" when an index has nothing for the platform.
//
// Thread-safety: stateless functions; safe to call concurrently if the store is.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/digest.h"
#include "base/labels.h"
#include "content/store.h"
#include "images/platforms.h"
#include "images/types.h"

namespace berth::images {

// Manifests, indexes and configs larger than this are refused (InvalidArgument) rather than
// read into memory. containerd's importer uses the same bound for JSON.
inline constexpr int64_t kMaxDocumentSize = 20 << 20;

// Reads the blob `desc` names, checking that its size is desc.size.
absl::StatusOr<std::string> ReadDocument(content::Store& store, const Descriptor& desc);

// The children `blob` (the content of `desc`) lists: config then layers for a manifest, the
// manifests of an index; none for layers, configs and unknown types (images.Children).
absl::StatusOr<std::vector<Descriptor>> Children(const Descriptor& desc, absl::string_view blob);
// The same, reading the blob from `store` when `desc` is a manifest or an index.
absl::StatusOr<std::vector<Descriptor>> Children(content::Store& store, const Descriptor& desc);

// The label keys containerd gives a parent for a child of this media type (ChildGCLabels):
// "containerd.io/gc.ref.content.config", "...content.m.", "...content.l." or "...content.".
std::string ChildGcLabelPrefix(const Descriptor& child);
// The labels SetChildrenLabels attaches to a parent whose children are `children`: per prefix,
// numbered in order (".m.0", ".l.3"); a prefix not ending in '.' is unnumbered for its first
// child (".config"), then numbered. Values are the children's digests.
Labels ChildGcLabels(std::span<const Descriptor> children);

// What `ctr import` does after the importer: walks from `root` through the children whose
// platform `matcher` accepts (descriptors without platform always pass), and sets on every
// visited parent the labels ChildGcLabels gives for its (filtered) children, with
// Store::Update on "labels.<key>" paths. NotFound "image might be filtered out: not found" if
// nothing below `root` was visited.
absl::Status SetChildrenLabels(content::Store& store, const Descriptor& root,
                               const Matcher& matcher);

struct ResolvedManifest {
  Descriptor descriptor;  // of the manifest itself
  Manifest manifest;
};

// images.Manifest: the manifest `root` designates for `matcher`. Indexes are searched depth
// first, their entries best platform first (matcher.Less); an entry without platform is judged
// by its config's os/architecture. A root that is a manifest is returned as is.
// NotFound as above, and (as containerd) "unexpected media type <type> for <digest>: not found"
// for a root or index entry that is neither a manifest nor an index.
absl::StatusOr<ResolvedManifest> ResolveManifest(content::Store& store, const Descriptor& root,
                                                 const Matcher& matcher);

// The parsed config blob `desc`.
absl::StatusOr<ImageConfig> ReadConfig(content::Store& store, const Descriptor& desc);

// Every platform `root` provides: index entries' platforms, or the os/architecture of configs
// reached without one (images.Platforms).
absl::StatusOr<std::vector<Platform>> Platforms(content::Store& store, const Descriptor& root);

// The total size of what `root` needs for `matcher`: the root, the chosen manifest (one per
// index), its config and layers (images.Image.Size).
absl::StatusOr<int64_t> ImageSize(content::Store& store, const Descriptor& root,
                                  const Matcher& matcher);

struct CheckResult {
  bool available = false;            // the manifest was found; `required` is complete
  std::vector<Descriptor> required;  // config and layers (or just the root if unresolved)
  std::vector<Descriptor> present;
  std::vector<Descriptor> missing;
};

// images.Check: whether everything `root` needs for `matcher` is in `store`. A manifest that
// cannot be found makes available=false with required = missing = {root}; other failures are
// returned as errors.
absl::StatusOr<CheckResult> Check(content::Store& store, const Descriptor& root,
                                  const Matcher& matcher);

// identity.ChainIDs: chain[0] = diff_ids[0], chain[i] = sha256(chain[i-1] + " " + diff_ids[i]).
std::vector<berth::Digest> ChainIds(std::span<const berth::Digest> diff_ids);

}  // namespace berth::images
