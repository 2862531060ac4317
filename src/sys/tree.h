// Whole directory trees: a faithful copy (the native snapshotter's layers), disk usage (snapshot
// Usage, like continuity's fs.DiskUsage), and the d_type probe overlayfs needs from the file
// system under a snapshotter's root.
//
// Thread-safety: pure functions over the file system; concurrent calls on disjoint trees are fine.
// A tree changed while it is walked gives an undefined (but memory-safe) result or an error.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::sys {

// Copies the tree at `src` into the directory `dst` (created with src's mode if missing), keeping
// what a container image layer needs: file contents (copy_file_range, falling back to read/write),
// modes including setuid/setgid/sticky bits, ownership, access and modification times (of
// directories too), symlinks, hard links (files sharing an inode in `src` share one in `dst`),
// device nodes, fifos and sockets, and extended attributes. As containerd's native snapshotter,
// xattrs the kernel refuses to set (security.* without privilege, a file system without user
// xattrs) are skipped, not errors. Errors name the path and keep the errno class; the copy is
// left partial on error.
absl::Status CopyTree(const std::string& src, const std::string& dst);

struct TreeUsage {
  int64_t size = 0;    // bytes allocated: st_blocks * 512, each inode counted once
  int64_t inodes = 0;  // distinct inodes, `root` included
};

// Disk usage of the tree at `root` without following symlinks. Hard links count once, as in
// containerd (continuity fs.DiskUsage). NotFound if `root` is missing.
absl::StatusOr<TreeUsage> DiskUsage(const std::string& root);

// Whether the file system holding the directory `dir` reports entry types in readdir (d_type).
// overlayfs needs it (XFS formatted with ftype=0 does not); containerd refuses to start otherwise.
// Creates and removes a probe file when `dir` is empty.
absl::StatusOr<bool> SupportsDType(const std::string& dir);

// Whether `path` lives on a tmpfs (statfs f_type TMPFS_MAGIC).
absl::StatusOr<bool> IsTmpfs(const std::string& path);

}  // namespace berth::sys
