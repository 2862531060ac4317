// Running a helper program to completion: argv, working directory, extra environment and stdin
// bytes in; exit status, stdout and stderr out. berthd uses it for shim binaries (`start`,
// `delete`).
//
// Thread-safety: safe to call from any thread; posix_spawn does not run our code in the child,
// so it is safe in a multi-threaded daemon. Descriptors we open are close-on-exec, so the child
// only inherits its stdio.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sys/unique_fd.h"

namespace berth::sys {

struct RunOptions {
  std::string cwd;                                       // empty: the caller's
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) environ
  std::string stdin_data;                                // written, then stdin is closed
  absl::Duration timeout = absl::Seconds(30);            // then SIGKILL, DeadlineExceeded
};

struct RunResult {
  int exit_code = 0;  // WEXITSTATUS, or 128 + signal
  std::string out;
  std::string err;
};

// Runs argv[0] (an absolute path, or looked up in PATH) and waits for it and for EOF on its
// stdout and stderr. NotFound if the binary does not exist; DeadlineExceeded after the timeout
// (the child is killed and reaped). A non-zero exit is not an error: see exit_code.
absl::StatusOr<RunResult> RunProcess(const std::vector<std::string>& argv,
                                     const RunOptions& options = {});

// A pidfd for a child (pidfd_open, Linux 5.3): it polls readable once the process has exited, so
// a caller can wait for an exit in poll/epoll with a deadline and no signal handling. The caller
// still reaps the child. ENOSYS on older kernels: callers fall back to polling waitpid.
absl::StatusOr<UniqueFd> PidfdOpen(pid_t pid);

}  // namespace berth::sys
