#include "shim/reaper.h"

#include <sys/wait.h>

#include <cerrno>

#include "absl/time/clock.h"
#include "base/log.h"

namespace berth::shim {

void Reaper::Watch(pid_t pid, ExitFn fn) {
  absl::Time now = absl::Now();
  for (auto it = unmatched_.begin(); it != unmatched_.end(); ++it) {
    if (it->pid != pid || now - it->when > kUnmatchedTtl) continue;
    Exit exit = *it;
    unmatched_.erase(it);
    loop_->Post([fn = std::move(fn), exit]() { fn(exit.status, exit.when); });
    return;
  }
  watched_[pid] = std::move(fn);
}

void Reaper::Unwatch(pid_t pid) { watched_.erase(pid); }

void Reaper::Reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) break;  // 0: children left but none exited; ECHILD: no children
    absl::Time now = absl::Now();
    auto it = watched_.find(pid);
    if (it == watched_.end()) {
      log::Debug("reaped unwatched process", {{"pid", pid}, {"status", status}});
      while (!unmatched_.empty() && (unmatched_.size() >= kMaxUnmatched ||
                                     now - unmatched_.front().when > kUnmatchedTtl)) {
        unmatched_.pop_front();
      }
      unmatched_.push_back({pid, status, now});
      continue;
    }
    ExitFn fn = std::move(it->second);
    watched_.erase(it);
    fn(status, now);
  }
}

}  // namespace berth::shim
