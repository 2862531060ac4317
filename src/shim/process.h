// A container process (the init or an exec'd one) and its lifecycle.
//
// The lifecycle is containerd's runc shim's (pkg/process/*_state.go), as one enum and ONE
// transition function: Transition(kind, state, op) says whether `op` is allowed in `state` and
// which state follows, with containerd's errors (their text and class) when it is not. Callers
// check first, do the work (run the OCI runtime), then commit the next state:
//
//            start            pause
//   created ───────▶ running ◀──────▶ paused        (exec'd processes never pause)
//      │                │    resume      │
//      │ exit           │ exit           │ exit
//      ▼                ▼                ▼
//   stopped ◀────────────────────────────┘
//      │ delete        (created ─delete─▶ deleted too)
//      ▼
//   deleted
//
// Thread-safety: loop thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "shim/stdio.h"

namespace berth::shim {

class ProcessIo;

enum class State { kCreated, kRunning, kPaused, kStopped, kDeleted };
enum class Kind { kInit, kExec };
enum class Op {
  kStart,
  kPause,
  kResume,
  kExit,
  kDelete,
  kKill,
  kExec,
  kUpdate,
  kCheckpoint,
  kResize
};

// "created", "running", "paused", "stopped" (deleted reports "stopped", as containerd does).
absl::string_view StateName(State state);

// The one transition function. Returns the state after `op` (the same state for operations
// that do not change it: kill, exec, update, checkpoint, resize), or the error containerd gives:
// Unknown "cannot start a running process" and the like; NotFound for killing or deleting a
// deleted process and for killing a stopped one ("process already finished"); FailedPrecondition
// for killing an exec'd process that was never started. kExit is always allowed (a no-op once
// stopped).
absl::StatusOr<State> Transition(Kind kind, State from, Op op);

class Process {
 public:
  Process(Kind kind, std::string id, Stdio stdio);
  ~Process();

  Kind kind() const { return kind_; }
  // The container id for the init, the exec id otherwise.
  const std::string& id() const { return id_; }
  const Stdio& stdio() const { return stdio_; }
  State state() const { return state_; }
  pid_t pid() const { return pid_; }
  void set_pid(pid_t pid) { pid_ = pid; }
  int exit_status() const { return exit_status_; }
  // absl::InfinitePast() until the process exits.
  absl::Time exited_at() const { return exited_at_; }

  // Checks `op` against the state (Transition); commits with Commit() after the work succeeded.
  absl::StatusOr<State> Check(Op op) const { return Transition(kind_, state_, op); }
  void Commit(State next) { state_ = next; }

  // Records the exit and moves to stopped. False if the process had already stopped.
  bool SetExited(int exit_status, absl::Time when);

  ProcessIo* io() const { return io_.get(); }
  void set_io(std::unique_ptr<ProcessIo> io);

  // Pending Wait calls, answered when the process exits.
  void AddWaiter(std::function<void()> fn) { waiters_.push_back(std::move(fn)); }
  std::vector<std::function<void()>> TakeWaiters() { return std::exchange(waiters_, {}); }

  // For exec'd processes: the OCI process spec (JSON) to run.
  const std::string& spec_json() const { return spec_json_; }
  void set_spec_json(std::string json) { spec_json_ = std::move(json); }

 private:
  Kind kind_;
  std::string id_;
  Stdio stdio_;
  State state_ = State::kCreated;
  pid_t pid_ = 0;
  int exit_status_ = 0;
  absl::Time exited_at_ = absl::InfinitePast();
  std::unique_ptr<ProcessIo> io_;
  std::string spec_json_;
  std::vector<std::function<void()>> waiters_;
};

}  // namespace berth::shim
