// Starting helper processes from the shim: the OCI runtime, logging binaries and the serving
// shim itself. fork + exec with an explicit fd map, a clean signal state (the shim blocks
// SIGCHLD/SIGTERM/SIGINT for its signalfd and ignores SIGPIPE; children must not inherit that),
// and exec failures reported back through a close-on-exec pipe so "binary not found" is an error
// of Spawn, not an exit status.
//
// Thread-safety: the shim is single-threaded; RunAndWait blocks the calling thread (the OCI
// runtime's commands are short).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth::shim {

inline constexpr int kCapture = -2;

struct SpawnOptions {
  // argv[0] is the program: a path, or a name looked up in PATH (Go's exec.LookPath rules).
  std::vector<std::string> argv;
  // The environment; nullopt inherits the shim's.
  std::optional<std::vector<std::string>> env;
  std::string cwd;  // "" keeps the shim's
  // The child's fds 0, 1 and 2 (not owned); -1 means /dev/null; kCapture (RunAndWait only)
  // captures the output in RunResult.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  // Become the child's fds 3, 4, ... (not owned).
  std::vector<int> extra_fds;
  bool new_session = false;  // setsid(): detach from the caller's terminal and process group
  int pdeath_signal = 0;     // sent to the child when the shim dies (0: none)
};

// Resolves `name` like Go's exec.LookPath: a name with a '/' is used as is, others are searched
// in PATH. NotFound with Go's wording (`exec: "runc": executable file not found in $PATH`).
absl::StatusOr<std::string> LookPath(absl::string_view name);

// Starts a child. The caller owns its pid (someone must reap it). Errors from exec (ENOENT,
// EACCES, ...) are returned with the program's name.
absl::StatusOr<pid_t> Spawn(const SpawnOptions& options);

// waitpid for one specific child, retried on EINTR. Returns the raw wait status.
absl::StatusOr<int> WaitPid(pid_t pid);

// A process's exit status as containerd reports it: the exit code, or 128 + the signal number.
int ExitStatusFromWait(int wait_status);

struct RunResult {
  int exit_status = 0;  // see ExitStatusFromWait
  std::string stdout_text;
  std::string stderr_text;
};

// Runs a command to completion, capturing the stdout/stderr set to kCapture (never capture an fd
// a long-lived grandchild inherits: the read would wait for it). If it runs longer than
// `timeout` it is killed (SIGKILL) and DeadlineExceeded returned.
absl::StatusOr<RunResult> RunAndWait(SpawnOptions options,
                                     absl::Duration timeout = absl::Minutes(2));

}  // namespace berth::shim
