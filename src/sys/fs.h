// File-system helpers for the daemon's directories, its root lock and its socket.
// Thread-safety: pure functions over the file system.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "sys/unique_fd.h"

namespace berth::sys {

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirs(const std::string& path, mode_t mode);

// Takes an exclusive lock on `path` (created if needed) and writes our pid into it. While the
// returned fd is open no other process can take it: FailedPrecondition naming the holder's pid.
absl::StatusOr<UniqueFd> LockFile(const std::string& path);

// Prepares `path` for a new listening unix socket: removes a stale socket left by a dead process;
// FailedPrecondition if a live process is accepting on it, or if it is not a socket.
absl::Status ClearStaleSocket(const std::string& path);

absl::Status Chmod(const std::string& path, mode_t mode);
absl::Status Chown(const std::string& path, uid_t uid, gid_t gid);

}  // namespace berth::sys
