// Two runc commands done in the shim instead of by a runc process, when the container's state
// directory (`<root>/<id>`) is runc's own: `runc start`, and `runc delete` of a container whose
// init has exited. Each runc invocation costs ~5 ms of Go start-up (and a core's worth of CPU
// for that time) for work that is a few system calls; a short container pays it three times.
//
// What runc 1.1 does, and so what these do:
// - start: the created container's init is blocked opening `exec.fifo` for writing. Opening it
//   for reading releases it; it writes "0" and execs the user's process. The fifo is then
//   removed (runc reports "running" instead of "created" from then on). runc 1.1 runs poststart
//   hooks in `create`; a state with poststart hooks still goes to `runc start`, in case a runc
//   runs them there.
// - delete of a stopped container: remove the cgroups recorded in state.json's `cgroup_paths`
//   (children first, retried while the kernel still says busy), then the state directory.
//
// Anything else goes to the runtime binary: a state directory without state.json + exec.fifo
// (crun, youki, ... keep other files), and for delete any container whose state asks for more
// than the above (no pid namespace of its own, so processes may remain in the cgroups; the
// systemd cgroup driver; poststop hooks; Intel RDT; a state.json this code does not recognise).
// Each function says which by its result: true = done here, false = not applicable, the
// caller runs the runtime; an error is the command's failure.
//
// Thread-safety: plain functions; they block the calling thread (start: until the init has
// taken the fifo, normally at once).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::shim::runc_native {

// `runc start` for the container whose state directory is `state_dir` and whose init is
// `init_pid` (the shim's child: it stays a zombie until the shim reaps it, which cannot
// happen while this runs). Fails like runc if the init died before it could be started.
absl::StatusOr<bool> Start(const std::string& state_dir, pid_t init_pid);

// `runc delete` for a container whose init has exited (the caller knows: it reaped it).
absl::StatusOr<bool> DeleteStopped(const std::string& state_dir);

// Whether a state.json's content allows DeleteStopped to do runc's work, and the cgroup
// directories to remove if so (exposed for tests); false leaves `cgroup_paths` untouched.
bool ParseDeletableState(absl::string_view state_json, std::vector<std::string>* cgroup_paths);

}  // namespace berth::shim::runc_native
