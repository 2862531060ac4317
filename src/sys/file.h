// File helpers: open/stat, whole-file reads and writes, atomic replacement, fsync of files and
// directories, rename/unlink, recursive removal, directory listing. Errors carry the path and keep
// errno's class (ENOENT -> NotFound, EEXIST -> AlreadyExists, ...) via ErrnoError.

// Thread-safety: pure functions over the file system.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sys/unique_fd.h"

namespace berth::sys {

absl::StatusOr<sys::UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
absl::StatusOr<struct stat> Stat(const std::string& path);
absl::StatusOr<struct stat> FStat(int fd, const std::string& path_for_errors);

// Writes all of `data` at the current offset of `fd`, retrying short writes and EINTR.
absl::Status WriteAll(int fd, absl::string_view data, const std::string& path_for_errors);
// Reads up to `size` bytes at `offset`; shorter only at end of file.
absl::StatusOr<std::string> ReadAt(int fd, int64_t offset, size_t size,
                                   const std::string& path_for_errors);

absl::StatusOr<std::string> ReadFile(const std::string& path);
// Creates or truncates `path` and writes `data` (not synced).
absl::Status WriteFile(const std::string& path, absl::string_view data, mode_t mode);
// Writes `data` to a temporary sibling, fsyncs it, renames it over `path` and fsyncs the
// directory: readers see the old content or the new, never a torn file, also after a crash.
absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, mode_t mode);
// The same without the fsyncs: atomic for readers while the system runs, not durable. For
// files that mean nothing after a reboot (runtime state under /run).
absl::Status ReplaceFile(const std::string& path, absl::string_view data, mode_t mode);

absl::Status Fsync(int fd, const std::string& path_for_errors);
// Makes a rename or unlink inside `dir` durable: the directory entry lives in the directory.
absl::Status FsyncDir(const std::string& dir);

absl::Status Mkdir(const std::string& path, mode_t mode);  // AlreadyExists if it exists
absl::Status Rename(const std::string& from, const std::string& to);
absl::Status Unlink(const std::string& path);  // NotFound if missing
// rm -rf; a missing `path` is not an error.
absl::Status RemoveAll(const std::string& path);
// Names in `dir`, without "." and "..", sorted.
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);

std::string Dirname(const std::string& path);

}  // namespace berth::sys
