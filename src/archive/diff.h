// Produces an image layer from the difference of two directories: containerd's walking differ
// (diff/walking + archive.WriteDiff + continuity fs.Changes), used to commit a container's
// changes as a new layer.
//
// The layer holds, in walk order (names sorted, a directory before its contents), every path of
// `upper` that was added or modified relative to `lower` (see changes.h for what counts as
// modified), each preceded by its parent directories when those were not themselves changed (so
// that applying sets their metadata), and for every path deleted a whiteout ".wh.<name>" (an
// empty regular file, mode 0, root-owned, dated now). Headers carry uid, gid, mode (with
// setuid/setgid/sticky), mtime truncated to the second, device numbers; names of directories end
// in '/'. Hard links: non-directories sharing an inode in `upper` are written once and then as
// hard-link entries to that first name, including unmodified names linked to a modified file. Of
// the xattrs only security.capability is written, as containerd does (others, like SELinux
// labels or overlayfs' trusted.*, describe the host, not the image). Sockets are skipped.
//
// Errors: the failing system call's class naming the path; Unimplemented for a compression other
// than kNone, kGzip or kZstd. Output already written to `output_fd` is then garbage.
// Thread-safety: a pure function over the file system; neither tree may change meanwhile.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "archive/tar_entry.h"
#include "base/digest.h"

namespace berth::archive {

struct DiffResult {
  Digest digest;  // of the stream written to output_fd (the blob)
  int64_t size = 0;
  Digest uncompressed_digest;  // of the tar (the diff_id)
  int64_t uncompressed_size = 0;
};

// Writes the layer that turns `lower` into `upper` to `output_fd`. `lower` may be empty ("") or an
// empty directory for a base layer; `upper` is the full new state (a mounted view, not an overlay
// upperdir).
absl::StatusOr<DiffResult> WriteDiff(const std::string& lower, const std::string& upper,
                                     int output_fd, Compression compression);

}  // namespace berth::archive
