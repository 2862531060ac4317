// Directory-fd-relative file-system calls (openat2, mkdirat, mknodat, linkat, fchownat, utimensat,
// xattrs, recursive removal) for code that must not escape a directory: layer extraction, diff
// walks, anything that handles names from untrusted input.
//
// The convention: a `dirfd` is a directory already known to be inside the tree being worked on
// and a `name` is ONE path component (no '/', not "." or ".."). None of the *At helpers below
// follow a symlink in `name`, so a call can only touch the entry `name` inside `dirfd`. Longer
// paths are resolved only by OpenInRoot, where the kernel confines them (openat2 RESOLVE_IN_ROOT).
//
// Errors carry the name and keep errno's class (ENOENT -> NotFound, EEXIST -> AlreadyExists,
// ENOTSUP -> Unimplemented, EPERM -> PermissionDenied, ...) via ErrnoError.
// Thread-safety: pure functions over the file system.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sys/unique_fd.h"

namespace berth::sys {

// openat2(2): opens `path` relative to `dirfd` with `flags` (O_CLOEXEC is added), `mode` for
// O_CREAT and the RESOLVE_* bits in `resolve`. Unimplemented if the kernel lacks openat2 (< 5.6).
absl::StatusOr<UniqueFd> OpenAt2(int dirfd, const std::string& path, int flags, mode_t mode,
                                 uint64_t resolve);

// Opens `path` as if `root_fd` were "/": absolute paths, ".." and every symlink met on the way
// (absolute or relative) are resolved inside root_fd, magic links (/proc/self/fd/...) refuse, and
// no mount point is crossed (RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV). An empty
// path or "." opens root_fd itself. The final component is followed unless `flags` has O_NOFOLLOW.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags);

// Opens the single component `name` in `dirfd` without following any symlink or crossing a mount
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV).
absl::StatusOr<UniqueFd> OpenBeneath(int dirfd, const std::string& name, int flags,
                                     mode_t mode = 0);

// lstat of `name` in `dirfd`; an empty name stats dirfd itself.
absl::StatusOr<struct stat> LstatAt(int dirfd, const std::string& name);

absl::Status MkdirAt(int dirfd, const std::string& name, mode_t mode);
// `mode` carries the file type (S_IFCHR, S_IFBLK, S_IFIFO) and permission bits.
absl::Status MknodAt(int dirfd, const std::string& name, mode_t mode, dev_t dev);
absl::Status SymlinkAt(const std::string& target, int dirfd, const std::string& name);
// Hard-links old_name (not followed if it is a symlink) as new_name.
absl::Status LinkAt(int old_dirfd, const std::string& old_name, int new_dirfd,
                    const std::string& new_name);
// unlinkat(2); `flags` may be AT_REMOVEDIR.
absl::Status UnlinkAt(int dirfd, const std::string& name, int flags);
absl::StatusOr<std::string> ReadlinkAt(int dirfd, const std::string& name);

// Metadata of `name` itself, never of a symlink's target.
absl::Status LchownAt(int dirfd, const std::string& name, uid_t uid, gid_t gid);
// chmod of a non-symlink; Unimplemented (EOPNOTSUPP) if `name` is a symlink.
absl::Status ChmodAtNoFollow(int dirfd, const std::string& name, mode_t mode);
// times[0] is the access time, times[1] the modification time.
absl::Status LutimesAt(int dirfd, const std::string& name, const struct timespec times[2]);

absl::Status FChown(int fd, uid_t uid, gid_t gid, const std::string& path_for_errors);
absl::Status FChmod(int fd, mode_t mode, const std::string& path_for_errors);
absl::Status FUtimens(int fd, const struct timespec times[2], const std::string& path_for_errors);

// Writes all of `data` at `offset`, retrying short writes and EINTR; the file offset is unchanged.
absl::Status PWriteAll(int fd, absl::string_view data, int64_t offset,
                       const std::string& path_for_errors);
// Reads into `buf` at `offset` until `size` bytes or the end of the file; returns the count.
absl::StatusOr<size_t> PReadFull(int fd, char* buf, size_t size, int64_t offset,
                                 const std::string& path_for_errors);
absl::Status FTruncate(int fd, int64_t size, const std::string& path_for_errors);

// Extended attributes. The *At variants act on `name` itself (a symlink is not followed); there is
// no *xattrat call before Linux 6.13, so they go through /proc/self/fd/<dirfd>/<name>, which
// requires /proc. fd variants need a real (not O_PATH) descriptor.
absl::Status FSetXattr(int fd, const std::string& key, absl::string_view value,
                       const std::string& path_for_errors);
absl::Status LSetXattrAt(int dirfd, const std::string& name, const std::string& key,
                         absl::string_view value);
// nullopt when the attribute is absent or the file system has no xattrs.
absl::StatusOr<std::optional<std::string>> FGetXattr(int fd, const std::string& key,
                                                     const std::string& path_for_errors);
absl::StatusOr<std::optional<std::string>> LGetXattrAt(int dirfd, const std::string& name,
                                                       const std::string& key);
// Attribute names of an open file; empty when the file system has no xattrs.
absl::StatusOr<std::vector<std::string>> FListXattr(int fd, const std::string& path_for_errors);

// Names in the directory open as `dirfd`, without "." and "..", sorted bytewise. dirfd's offset
// is rewound first and left at the end; dirfd itself stays open.
absl::StatusOr<std::vector<std::string>> ReadDirNames(int dirfd,
                                                      const std::string& path_for_errors);

// rm -rf of `name` in `dirfd`: never follows a symlink and refuses (FailedPrecondition) to descend
// into another mount. A missing `name` is not an error.
absl::Status RemoveAllAt(int dirfd, const std::string& name);

// The path a descriptor currently refers to, from /proc/self/fd (for messages and bookkeeping;
// never resolve it again to act on the file).
absl::StatusOr<std::string> FdPath(int fd);

}  // namespace berth::sys
