// Applies an image layer (an OCI/Docker layer tar, compressed or not) to a directory: the unpack
// step of images, containerd's archive.Apply as the diff applier uses it.
//
// Safety: the tar is untrusted. Every file-system change goes through a descriptor of `root`;
// parent directories are resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
// RESOLVE_NO_XDEV), and the last component is then created, replaced or removed without being
// followed. So no entry can create, change or delete anything outside `root`, whatever it holds:
// absolute names and ".." are confined (names are joined to "/" and cleaned like containerd's, so
// "../../etc/x" lands at <root>/etc/x), symlinks the layer planted resolve inside root, hard links
// can only point at names inside root, and whiteouts can only delete inside root. Entries naming
// root itself ("/", ".", "..") are ignored, as containerd ignores them.
//
// Semantics follow containerd 1.6 (archive/tar.go applyNaive):
//  - an existing entry is removed (recursively) and replaced, except that a directory entry over
//    an existing directory keeps it and updates its metadata;
//  - parents missing from the layer are created 0755 root:root (or, with `parents`, copied from
//    the first lower directory that has them);
//  - ownership, then xattrs, then mode (chown clears setuid bits), then times; directory times
//    are set at the end, once their contents are in place; times before 1970 become 1970;
//  - xattrs from pax SCHILY.xattr.*: trusted.* are never set (a layer must not forge overlayfs
//    metadata); ENOTSUP is ignored; EPERM on user.* of a non-regular, non-directory file is
//    ignored; other failures fail the apply;
//  - whiteouts (see WhiteoutMode) are never written as files; a whiteout name without a target
//    (".wh.", ".wh..", ".wh...") is InvalidArgument.
//
// Errors: InvalidArgument/DataLoss for a stream that is not a readable layer (see tar_reader.h),
// InvalidArgument for entries that cannot be applied (bad whiteout, hard link to root, a parent
// that is not a directory), otherwise the failing system call's class; every entry error names
// the entry. On error `root` may hold a partial layer: the caller discards it (nothing outside
// root has changed).
//
// Thread-safety: ApplyLayer may run concurrently on different roots; nothing else may modify
// `root` while it runs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "archive/tar_entry.h"
#include "base/digest.h"

namespace berth::archive {

enum class WhiteoutMode {
  // Applying to a plain directory or a merged view (native snapshotter, a mounted overlay):
  // ".wh.x" deletes x; ".wh..wh..opq" deletes everything in its directory that this layer did not
  // itself create.
  kDelete,
  // Applying straight into an overlayfs upperdir (containerd's OverlayConvertWhiteout):
  // ".wh.x" becomes a 0/0 character device x (owned by the whiteout entry's uid/gid; whatever
  // this layer itself put at x first is removed, where containerd would fail), and
  // ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory.
  kOverlay,
};

struct ApplyOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kDelete;
  // Lower directories, nearest first (containerd's WithParents, used with kOverlay). A parent
  // directory that the layer implies without an entry of its own takes owner, mode, times and
  // xattrs (trusted.* excepted) from the first of these that has it, instead of 0755 root:root.
  std::vector<std::string> parents;
};

struct ApplyResult {
  Digest uncompressed_digest;  // sha256 of the whole uncompressed stream: the layer's diff_id
  int64_t uncompressed_size = 0;
  Compression compression = Compression::kNone;  // as detected
  int64_t entries = 0;                           // tar entries applied, whiteouts included
  int64_t whiteouts = 0;                         // of which whiteouts (".wh.x" and opaque markers)
};

// Reads the layer on `input_fd` to its end and applies it to the directory `root`.
absl::StatusOr<ApplyResult> ApplyLayer(int input_fd, const std::string& root,
                                       const ApplyOptions& options);

// "/" + name, cleaned like Go's filepath.Clean, without the leading slash: "" is the root itself.
// Exposed for tests.
std::string CleanLayerPath(absl::string_view name);

}  // namespace berth::archive
