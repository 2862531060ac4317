// The one place the shim reaps its children. The shim is a child subreaper: container processes
// (init and exec'd ones) are re-parented to it when the runtime that started them exits, so their
// exits arrive here, on SIGCHLD, through waitpid(-1, WNOHANG).
//
// The OCI runtime's own invocations never come here: they run synchronously and are waited for
// by pid (child.h), so a runtime's exit is never mistaken for a container process's.
//
// A process can exit before its pid is known to the shim (it is read from a pid file after the
// runtime returns). Exits of pids nobody watches are therefore kept for a while (a bounded list,
// entries older than kUnmatchedTtl dropped) and handed over when the pid is watched.
//
// Thread-safety: loop thread only.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>

#include "absl/time/time.h"
#include "sys/event_loop.h"

namespace berth::shim {

class Reaper {
 public:
  // `wait_status` is waitpid's raw status (see ExitStatusFromWait); `when` the reaping time.
  using ExitFn = std::function<void(int wait_status, absl::Time when)>;

  static constexpr absl::Duration kUnmatchedTtl = absl::Seconds(10);
  static constexpr size_t kMaxUnmatched = 64;

  explicit Reaper(sys::EventLoop* loop) : loop_(loop) {}

  // Calls `fn` once when `pid` exits. If it already exited unwatched, `fn` is posted to the loop
  // (it never runs inside Watch). Replaces an earlier watch of the same pid.
  void Watch(pid_t pid, ExitFn fn);
  void Unwatch(pid_t pid);

  // Reaps every exited child (call on SIGCHLD; signals coalesce, so it loops until none is left).
  void Reap();

 private:
  struct Exit {
    pid_t pid;
    int status;
    absl::Time when;
  };

  sys::EventLoop* loop_;
  std::map<pid_t, ExitFn> watched_;
  std::deque<Exit> unmatched_;
};

}  // namespace berth::shim
