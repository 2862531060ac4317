// A single-threaded epoll loop: file descriptors, timers and posted closures.
//
// The shim runs everything on one EventLoop (one thread); berthd runs one for all its ttrpc
// connections to shims. Callbacks run on the loop thread, one at a time, and may add, modify and
// remove registrations (including their own) and timers. A registration removed by a callback is
// never called again, even when it had events in the same epoll_wait batch. Timers use the
// monotonic clock.
//
// Thread-safety: Post() and Stop() may be called from any thread; everything else only from the
// loop thread (or before Run() starts). The loop must outlive everything that posts to it.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "sys/unique_fd.h"

namespace berth::sys {

class EventLoop {
 public:
  // Called with the epoll event bits (EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR, ...).
  using FdCallback = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  static absl::StatusOr<std::unique_ptr<EventLoop>> Create();
  // Destroys pending closures, timers and registrations without running them (registered fds
  // are not closed: they are not owned).
  ~EventLoop();

  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Watches `fd` (not owned: the caller closes it after Remove) for `events` (level-triggered
  // unless EPOLLET is given). AlreadyExists if `fd` is already registered.
  absl::Status Add(int fd, uint32_t events, FdCallback callback);
  // Changes the watched events of a registered fd. NotFound if it is not registered.
  absl::Status Modify(int fd, uint32_t events);
  // Stops watching `fd`. Safe to call for an fd that is not registered, and from its callback.
  void Remove(int fd);

  // Runs `fn` once after `delay` on the loop thread. Returns an id (never 0) for Cancel.
  TimerId After(absl::Duration delay, std::function<void()> fn);
  // Cancels a timer that has not fired yet; no-op otherwise.
  void Cancel(TimerId id);

  // Runs `fn` on the loop thread soon, in the order posted. Thread-safe; wakes the loop.
  void Post(std::function<void()> fn);

  // Runs until Stop(). Returns an error only if epoll itself fails (or FailedPrecondition when
  // the loop is already running). A Stop() that came before Run() makes it return at once.
  absl::Status Run();
  // Makes Run() return after the current callback. Thread-safe.
  void Stop();

  // Whether the caller is on the thread currently inside Run().
  bool InLoopThread() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Registration {
    uint32_t token;  // tells a registration from an earlier one of the same fd number
    std::shared_ptr<FdCallback> callback;
  };

  EventLoop(UniqueFd epoll_fd, UniqueFd wake_fd);
  void Wake();
  void RunPosted();
  void RunTimers();
  int NextTimeoutMs() const;

  UniqueFd epoll_fd_;
  UniqueFd wake_fd_;  // eventfd: Post and Stop write it to end epoll_wait

  // Loop thread only.
  uint32_t next_token_ = 1;  // 0 is the wake fd's
  std::unordered_map<int, Registration> registrations_;
  TimerId next_timer_id_ = 1;
  std::map<std::pair<Clock::time_point, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_deadlines_;

  absl::Mutex mu_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(mu_);

  std::atomic<bool> stop_{false};
  std::atomic<std::thread::id> loop_thread_{};
};

}  // namespace berth::sys
