#include "sys/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth::sys {
namespace {

// epoll_event.data carries the fd (low half) and its registration token (high half).
uint64_t PackData(int fd, uint32_t token) {
  return (static_cast<uint64_t>(token) << 32) | static_cast<uint32_t>(fd);
}

// Caps delays so that now + delay cannot overflow the clock's representation.
constexpr absl::Duration kMaxDelay = absl::Hours(24 * 365 * 100);

}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Create() {
  UniqueFd epoll_fd(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd.valid()) return ErrnoError(errno, "epoll_create1");
  UniqueFd wake_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_fd.valid()) return ErrnoError(errno, "eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = PackData(wake_fd.get(), 0);
  if (epoll_ctl(epoll_fd.get(), EPOLL_CTL_ADD, wake_fd.get(), &ev) < 0) {
    return ErrnoError(errno, "epoll_ctl add eventfd");
  }
  return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll_fd), std::move(wake_fd)));
}

EventLoop::EventLoop(UniqueFd epoll_fd, UniqueFd wake_fd)
    : epoll_fd_(std::move(epoll_fd)), wake_fd_(std::move(wake_fd)) {}

EventLoop::~EventLoop() {
  // Destroying a closure may release the last reference to an object whose destructor posts,
  // cancels or removes: move everything out first and repeat until nothing is left.
  for (;;) {
    std::vector<std::function<void()>> posted;
    {
      absl::MutexLock lock(&mu_);
      posted.swap(posted_);
    }
    auto timers = std::move(timers_);
    timers_.clear();
    timer_deadlines_.clear();
    auto registrations = std::move(registrations_);
    registrations_.clear();
    if (posted.empty() && timers.empty() && registrations.empty()) break;
  }
}

absl::Status EventLoop::Add(int fd, uint32_t events, FdCallback callback) {
  if (registrations_.count(fd) != 0) {
    return absl::AlreadyExistsError(absl::StrCat("event loop: fd ", fd, " already registered"));
  }
  uint32_t token = next_token_++;
  if (next_token_ == 0) next_token_ = 1;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = PackData(fd, token);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) {
    return ErrnoError(errno, absl::StrCat("epoll_ctl add fd ", fd));
  }
  registrations_.emplace(fd, Registration{token, std::make_shared<FdCallback>(std::move(callback))});
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = registrations_.find(fd);
  if (it == registrations_.end()) {
    return absl::NotFoundError(absl::StrCat("event loop: fd ", fd, " not registered"));
  }
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = PackData(fd, it->second.token);
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_MOD, fd, &ev) < 0) {
    return ErrnoError(errno, absl::StrCat("epoll_ctl mod fd ", fd));
  }
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  auto it = registrations_.find(fd);
  if (it == registrations_.end()) return;
  // The callback may be the one running now: the shared_ptr copy in Run keeps it alive.
  registrations_.erase(it);
  // Fails harmlessly (EBADF/ENOENT) when the caller already closed the fd, which also removes it
  // from the epoll set.
  epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::After(absl::Duration delay, std::function<void()> fn) {
  if (delay < absl::ZeroDuration()) delay = absl::ZeroDuration();
  if (delay > kMaxDelay) delay = kMaxDelay;
  Clock::time_point deadline = Clock::now() + absl::ToChronoNanoseconds(delay);
  TimerId id = next_timer_id_++;
  timers_.emplace(std::make_pair(deadline, id), std::move(fn));
  timer_deadlines_.emplace(id, deadline);
  return id;
}

void EventLoop::Cancel(TimerId id) {
  auto it = timer_deadlines_.find(id);
  if (it == timer_deadlines_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_deadlines_.erase(it);
}

void EventLoop::Post(std::function<void()> fn) {
  bool was_empty;
  {
    absl::MutexLock lock(&mu_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  // A non-empty queue already has a wake-up on its way (whoever made it non-empty wrote), and
  // the loop always drains the queue after consuming a wake-up.
  if (was_empty) Wake();
}

void EventLoop::Stop() {
  stop_.store(true);
  Wake();
}

bool EventLoop::InLoopThread() const { return loop_thread_.load() == std::this_thread::get_id(); }

void EventLoop::Wake() {
  uint64_t one = 1;
  // Can only fail with EAGAIN when the counter is about to overflow, i.e. a wake-up is pending.
  ssize_t n = write(wake_fd_.get(), &one, sizeof(one));
  (void)n;
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> posted;
  {
    absl::MutexLock lock(&mu_);
    posted.swap(posted_);
  }
  for (size_t i = 0; i < posted.size(); ++i) {
    posted[i]();
    posted[i] = nullptr;  // release captures now, in order
    if (stop_.load()) {
      // Keep the rest, in order, ahead of anything posted since, for the next Run().
      absl::MutexLock lock(&mu_);
      std::vector<std::function<void()>> rest;
      for (size_t j = i + 1; j < posted.size(); ++j) rest.push_back(std::move(posted[j]));
      for (auto& fn : posted_) rest.push_back(std::move(fn));
      posted_.swap(rest);
      return;
    }
  }
}

void EventLoop::RunTimers() {
  if (timers_.empty()) return;
  // Only timers due now; those the callbacks add (even with a zero delay) wait for the next
  // round, so a timer re-arming itself cannot starve the fds.
  Clock::time_point now = Clock::now();
  std::vector<std::pair<Clock::time_point, TimerId>> due;
  for (auto it = timers_.begin(); it != timers_.end() && it->first.first <= now; ++it) {
    due.push_back(it->first);
  }
  for (const auto& key : due) {
    if (stop_.load()) return;
    auto it = timers_.find(key);
    if (it == timers_.end()) continue;  // cancelled by an earlier callback
    auto node = timers_.extract(it);
    timer_deadlines_.erase(key.second);
    node.mapped()();
  }
}

int EventLoop::NextTimeoutMs() const {
  if (timers_.empty()) return -1;
  auto delta = timers_.begin()->first.first - Clock::now();
  if (delta <= Clock::duration::zero()) return 0;
  // Round up: waking early would only spin.
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(delta).count();
  return ms > INT_MAX ? INT_MAX : static_cast<int>(ms);
}

absl::Status EventLoop::Run() {
  std::thread::id none;
  if (!loop_thread_.compare_exchange_strong(none, std::this_thread::get_id())) {
    return absl::FailedPreconditionError("event loop: already running");
  }
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  absl::Status status;
  while (!stop_.load()) {
    RunPosted();
    if (stop_.load()) break;
    RunTimers();
    if (stop_.load()) break;
    int n = epoll_wait(epoll_fd_.get(), events, kMaxEvents, NextTimeoutMs());
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoError(errno, "epoll_wait");
      break;
    }
    for (int i = 0; i < n && !stop_.load(); ++i) {
      int fd = static_cast<int>(static_cast<uint32_t>(events[i].data.u64));
      uint32_t token = static_cast<uint32_t>(events[i].data.u64 >> 32);
      if (token == 0) {
        uint64_t value;
        ssize_t r = read(wake_fd_.get(), &value, sizeof(value));
        (void)r;
        continue;
      }
      auto it = registrations_.find(fd);
      // Removed (or removed and re-added) by an earlier callback of this batch.
      if (it == registrations_.end() || it->second.token != token) continue;
      std::shared_ptr<FdCallback> callback = it->second.callback;
      (*callback)(events[i].events);
    }
  }
  stop_.store(false);
  loop_thread_.store(std::thread::id());
  return status;
}

}  // namespace berth::sys
