// The changes between two directory trees, as continuity's fs.Changes double walk computes them
// for containerd's walking differ: both trees are walked in the same order (pre-order, names
// sorted bytewise, a directory before its contents) and every path is reported once, in that
// order, as added, modified or deleted.
//
// Comparison (continuity's sameFile): the same inode is unmodified; otherwise type+mode, uid, gid,
// rdev and the security.capability xattr must match, and for non-directories size and mtime
// seconds too. When both mtimes have no sub-second part the contents are compared (symlink
// targets, file bytes), since whole-second times say little; when both have equal non-zero
// nanoseconds the file is taken as unmodified without reading it. Directories compare on their
// metadata only (not mtime), so a directory whose contents changed is reported only through its
// children. Other xattrs are not compared (containerd does not either).
//
// A deleted directory is reported once, not its contents; a directory replacing a non-directory
// (or the reverse) is a modification, and everything below the new directory is added.
// Unmodified non-directories with more than one link are reported as kUnmodified so that a
// differ can keep hard links whole; nothing else unmodified is reported.
//
// Symlinks are never followed; a mount point inside either tree is an error (EXDEV), not crossed.
// Thread-safety: a pure function over the file system; neither tree may change meanwhile.
#pragma once

#include <sys/stat.h>

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace berth::archive {

enum class ChangeKind { kUnmodified, kAdd, kModify, kDelete };

struct Change {
  ChangeKind kind;
  std::string path;  // "/a/b": relative to the trees' roots, with a leading slash
  // For every kind but kDelete: the upper entry's lstat, and where it is (its directory, open,
  // and its name in it) so that it can be read without resolving `path` again.
  const struct stat* st = nullptr;
  int upper_dirfd = -1;
  std::string name;
};

// Reports the changes from the tree `lower_fd` (-1: none, everything is added) to the tree
// `upper_fd` to `fn`, in walk order; stops at the first error, from the walk or from `fn`.
absl::Status Changes(int lower_fd, int upper_fd, absl::FunctionRef<absl::Status(const Change&)> fn);

}  // namespace berth::archive
