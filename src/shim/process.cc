#include "shim/process.h"

#include "base/status.h"
#include "shim/io.h"

namespace berth::shim {
namespace {

absl::Status Plain(absl::string_view msg) { return absl::UnknownError(msg); }

// The tables below read best one case per line.
// clang-format off

absl::StatusOr<State> InitTransition(State from, Op op) {
  switch (from) {
    case State::kCreated:
      switch (op) {
        case Op::kStart: return State::kRunning;
        case Op::kPause: return Plain("cannot pause task in created state");
        case Op::kResume: return Plain("cannot resume task in created state");
        case Op::kCheckpoint: return Plain("cannot checkpoint a task in created state");
        case Op::kExit: return State::kStopped;
        case Op::kDelete: return State::kDeleted;
        case Op::kKill:
        case Op::kExec:
        case Op::kUpdate:
        case Op::kResize: return from;
      }
      break;
    case State::kRunning:
      switch (op) {
        case Op::kStart: return Plain("cannot start a running process");
        case Op::kPause: return State::kPaused;
        case Op::kResume: return Plain("cannot resume a running process");
        case Op::kExit: return State::kStopped;
        case Op::kDelete: return Plain("cannot delete a running process");
        case Op::kCheckpoint:
        case Op::kKill:
        case Op::kExec:
        case Op::kUpdate:
        case Op::kResize: return from;
      }
      break;
    case State::kPaused:
      switch (op) {
        case Op::kStart: return Plain("cannot start a paused process");
        case Op::kPause: return Plain("cannot pause a paused container");
        case Op::kResume: return State::kRunning;
        case Op::kExit: return State::kStopped;
        case Op::kDelete: return Plain("cannot delete a paused process");
        case Op::kExec: return Plain("cannot exec in a paused state");
        case Op::kCheckpoint:
        case Op::kKill:
        case Op::kUpdate:
        case Op::kResize: return from;
      }
      break;
    case State::kStopped:
      switch (op) {
        case Op::kStart: return Plain("cannot start a stopped process");
        case Op::kPause: return Plain("cannot pause a stopped container");
        case Op::kResume: return Plain("cannot resume a stopped container");
        case Op::kExit: return from;
        case Op::kDelete: return State::kDeleted;
        // runc answers "container not running", which containerd turns into this.
        case Op::kKill: return ErrNotFound("process already finished");
        case Op::kExec: return Plain("cannot exec in a stopped state");
        case Op::kUpdate: return Plain("cannot update a stopped container");
        case Op::kCheckpoint: return Plain("cannot checkpoint a stopped container");
        case Op::kResize: return from;
      }
      break;
    case State::kDeleted:
      break;
  }
  return absl::InternalError("unreachable");
}

absl::StatusOr<State> ExecTransition(State from, Op op) {
  switch (op) {
    case Op::kPause:
    case Op::kResume:
    case Op::kExec:
    case Op::kUpdate:
    case Op::kCheckpoint:
      // Container-wide operations: the service applies them to the init, never to an exec.
      return absl::InternalError("not an exec'd process operation");
    default:
      break;
  }
  switch (from) {
    case State::kCreated:
      switch (op) {
        case Op::kStart: return State::kRunning;
        case Op::kExit: return State::kStopped;
        case Op::kDelete: return State::kDeleted;
        case Op::kKill: return ErrFailedPrecondition("process not created");
        default: return from;
      }
    case State::kRunning:
      switch (op) {
        case Op::kStart: return Plain("cannot start a running process");
        case Op::kExit: return State::kStopped;
        case Op::kDelete: return Plain("cannot delete a running process");
        default: return from;
      }
    case State::kStopped:
      switch (op) {
        case Op::kStart: return Plain("cannot start a stopped process");
        case Op::kDelete: return State::kDeleted;
        case Op::kKill: return ErrNotFound("process already finished");
        case Op::kResize: return Plain("cannot resize a stopped container");
        default: return from;
      }
    case State::kPaused:  // never reached by an exec'd process
    case State::kDeleted:
      break;
  }
  return absl::InternalError("unreachable");
}

}  // namespace

absl::string_view StateName(State state) {
  switch (state) {
    case State::kCreated: return "created";
    case State::kRunning: return "running";
    case State::kPaused: return "paused";
    case State::kStopped:
    case State::kDeleted: return "stopped";
  }
  return "unknown";
}

absl::StatusOr<State> Transition(Kind kind, State from, Op op) {
  if (from == State::kDeleted) {
    switch (op) {
      case Op::kStart: return Plain("cannot start a deleted process");
      case Op::kPause: return Plain("cannot pause a deleted process");
      case Op::kResume: return Plain("cannot resume a deleted process");
      case Op::kExit: return from;
      case Op::kDelete: return ErrNotFound("cannot delete a deleted process");
      case Op::kKill: return ErrNotFound("cannot kill a deleted process");
      case Op::kExec: return Plain("cannot exec in a deleted state");
      case Op::kUpdate: return Plain("cannot update a deleted process");
      case Op::kCheckpoint: return Plain("cannot checkpoint a deleted process");
      case Op::kResize: return Plain("cannot resize a deleted process");
    }
  }
  return kind == Kind::kInit ? InitTransition(from, op) : ExecTransition(from, op);
}

// clang-format on

Process::Process(Kind kind, std::string id, Stdio stdio)
    : kind_(kind), id_(std::move(id)), stdio_(std::move(stdio)) {}

Process::~Process() = default;

bool Process::SetExited(int exit_status, absl::Time when) {
  auto next = Check(Op::kExit);
  if (!next.ok() || *next == state_) return false;
  exit_status_ = exit_status;
  exited_at_ = when;
  state_ = *next;
  return true;
}

void Process::set_io(std::unique_ptr<ProcessIo> io) { io_ = std::move(io); }

}  // namespace berth::shim
