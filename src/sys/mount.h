// mount(2) and umount2(2) behind containerd's mount model (github.com/containerd/containerd/mount):
// a Mount is a file-system type, a source and fstab-style options ("ro", "rbind", "nosuid",
// "lowerdir=...", ...), exactly what snapshotters return and what the Snapshots API carries in
// containerd.types.Mount (minus the target, which the caller supplies).
//
// Options that name a mount flag become flags (see ParseMountOptions); every other option is
// passed to the file system as its data string, joined with ','. As in containerd:
//   - a read-only bind ("ro" + "bind"/"rbind") takes two calls, because the kernel ignores
//     MS_RDONLY on the first MS_BIND call: the bind, then a MS_REMOUNT|MS_BIND|MS_RDONLY;
//   - propagation options ("rprivate", "shared", ...) are applied in a separate call after the
//     mount, as the kernel requires;
//   - the kernel copies at most one page (4096 bytes) of mount data. An overlay mount whose
//     options are near that limit (deep layer chains) has its lowerdirs rewritten relative to
//     their longest common parent directory, and is mounted from a thread that has unshared its
//     working directory (unshare(CLONE_FS)) and chdir()ed there: overlayfs resolves relative
//     lowerdirs against the mounting task's cwd. The rest of the process keeps its cwd, so this
//     is safe in the multi-threaded daemon (containerd forks a child for the same purpose).
// Unsupported: loop devices ("loop") and FUSE helpers (types "fuse.*"); both are Unimplemented.
//
// Thread-safety: all functions may be called concurrently (the kernel serializes mount changes).
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sys/unique_fd.h"

namespace berth::sys {

// containerd's types.Mount without the target.
struct Mount {
  std::string type;    // "bind", "overlay", "tmpfs", ...
  std::string source;  // a path for binds, a free-form name ("overlay") otherwise
  std::vector<std::string> options;

  bool operator==(const Mount&) const = default;
};

// Options split into what mount(2) takes.
struct MountOptions {
  unsigned long flags = 0;        // MS_* flags for the mount call, without propagation
  unsigned long propagation = 0;  // MS_SHARED/MS_PRIVATE/MS_SLAVE/MS_UNBINDABLE (+ MS_REC)
  std::string data;               // the remaining options joined with ','
  bool loop = false;              // "loop" was given
};

// Translates fstab-style options: ro/rw, bind/rbind, remount, nosuid/suid, nodev/dev,
// noexec/exec, sync/async, dirsync, mand/nomand, noatime/atime, nodiratime/diratime,
// relatime/norelatime, strictatime/nostrictatime, defaults, and the propagation options
// private/rprivate/shared/rshared/slave/rslave/unbindable/runbindable. Later options win over
// earlier ones ("ro,rw" is rw). Anything else is file-system data.
MountOptions ParseMountOptions(std::span<const std::string> options);

// The result of compacting an overlay's lowerdir option: `dir` is the directory to resolve the
// now-relative lowerdirs from ("" if nothing was compacted, then `options` are the input).
struct CompactedOptions {
  std::string dir;
  std::vector<std::string> options;
};

// containerd's compactLowerdirOption: rewrites "lowerdir=/r/snapshots/1/fs:/r/snapshots/2/fs" to
// "lowerdir=1/fs:2/fs" (moved to the end of the options) with dir "/r/snapshots/". The common
// parent is the directory above the lowerdirs' longest common prefix, so that snapshot ids that
// share leading digits are not cut. Nothing is compacted with fewer than two lowerdirs, or when
// the only common parent is "/".
CompactedOptions CompactLowerdirOption(std::span<const std::string> options);

// Mounts `m` on `target` (a directory that must exist; relative paths are taken from the
// process's cwd). Errors carry the errno class (ENOENT -> NotFound, EINVAL -> InvalidArgument,
// EPERM -> PermissionDenied, ...) and name the mount; InvalidArgument "mount options is too long"
// if the data exceeds a page even after compaction.
absl::Status MountAt(const Mount& m, const std::string& target);

// Mounts each of `mounts` on `target` in order (containerd's mount.All); stops at the first error.
absl::Status MountAll(std::span<const Mount> mounts, const std::string& target);

// umount2(target, flags), retried for up to 2.5 s while the kernel reports EBUSY (a file still
// open by a process that is exiting). Not being a mount point (EINVAL) is not an error.
// Unavailable if still busy after the retries.
absl::Status Unmount(const std::string& target, int flags = 0);

// Unmounts `target` until it is no longer a mount point, undoing a stack of mounts on it. An empty
// or missing `target` is not an error.
absl::Status UnmountAll(const std::string& target, int flags = 0);

// Like UnmountAll, but each mount is detached (MNT_DETACH) while `holds` gets an O_PATH fd on
// its root: the mounts leave the namespace at once (target is an ordinary directory again), and
// the file systems are released when the caller closes those fds. Releasing is what costs: the
// last reference to an overlayfs syncs its whole upper file system (milliseconds, far more when
// other writers keep it busy). A caller can so answer first and release later.
absl::Status DetachAll(const std::string& target, std::vector<UniqueFd>* holds);

}  // namespace berth::sys
