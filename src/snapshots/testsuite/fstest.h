// File-tree helpers for the snapshotter conformance suite, after continuity's fs/fstest: appliers
// that change a tree (applied both to a mounted snapshot and to a plain "flat" directory), a tree
// comparison, and mount hygiene for tests that mount for real.
//
// Thread-safety: test code; the functions are independent of each other.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::snapshots::testsuite {

// A change applied to the tree rooted at its argument. Paths are relative to that root (a leading
// '/' is allowed, as in containerd's tests).
using Applier = std::function<absl::Status(const std::string& root)>;

Applier Apply(std::vector<Applier> appliers);  // in order, stopping at the first error
Applier CreateFile(const std::string& path, const std::string& content, mode_t mode);
Applier CreateDir(const std::string& path, mode_t mode);  // exact mode, whatever the umask
Applier RemoveAll(const std::string& path);
Applier Chown(const std::string& path, uid_t uid, gid_t gid);
Applier Link(const std::string& oldpath, const std::string& newpath);  // a hard link
Applier Symlink(const std::string& target, const std::string& path);
// rename(2); on EXDEV (overlayfs renaming a lower directory without redirect_dir) copies and
// deletes the directory, as mv(1) does.
Applier Rename(const std::string& from, const std::string& to);

// OK if the trees at `expected` and `actual` hold the same entries (roots excluded) with the same
// type, permission bits, owner, content (regular files), target (symlinks) and device numbers;
// otherwise an error listing the differences. Times, link counts and xattrs are not compared:
// overlayfs keeps neither hard links across layers nor directory times.
absl::Status CheckDirectoryEqual(const std::string& expected, const std::string& actual);

// A new directory under $TEST_TMPDIR or /tmp named `<prefix>XXXXXX`; "" on failure.
std::string MakeTempDir(absl::string_view prefix);
// A new directory `<dir>/<prefix>XXXXXX`; "" on failure.
std::string MakeTempDirIn(const std::string& dir, absl::string_view prefix);

// Every mount point at or below `dir`, deepest first (from /proc/self/mountinfo).
std::vector<std::string> MountsUnder(const std::string& dir);

// Detaches every mount at or below `dir`; true if none remains.
bool UnmountUnder(const std::string& dir);

// Unmounts everything below `dir`, then removes it; refuses (and returns false) if a mount could
// not be removed, so that a test never deletes through a mount into a snapshot or the host.
bool RemoveTempDir(const std::string& dir);

}  // namespace berth::snapshots::testsuite
