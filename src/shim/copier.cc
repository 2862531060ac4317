#include "shim/copier.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"

namespace berth::shim {
namespace {

constexpr size_t kChunk = 64 * 1024;  // one pipe's default capacity per splice
constexpr size_t kBufSize = 16 * 1024;
constexpr int kRoundsPerTurn = 16;  // then let other fds have the loop

}  // namespace

absl::Status SetNonBlocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return ErrnoError(errno, "fcntl O_NONBLOCK");
  }
  return absl::OkStatus();
}

Copier::Copier(sys::EventLoop* loop, sys::UniqueFd src, sys::UniqueFd dst, std::string name,
               std::function<void()> on_done)
    : loop_(loop),
      src_(std::move(src)),
      dst_(std::move(dst)),
      name_(std::move(name)),
      on_done_(std::move(on_done)),
      self_(std::make_shared<Copier*>(this)) {}

absl::StatusOr<std::unique_ptr<Copier>> Copier::Start(sys::EventLoop* loop, sys::UniqueFd src,
                                                      sys::UniqueFd dst, std::string name,
                                                      std::function<void()> on_done) {
  RETURN_IF_ERROR(SetNonBlocking(src.get()));
  RETURN_IF_ERROR(SetNonBlocking(dst.get()));
  std::unique_ptr<Copier> c(
      new Copier(loop, std::move(src), std::move(dst), std::move(name), std::move(on_done)));
  // Wait for the source before the first read: a FIFO whose client has not opened its end yet
  // reads as EOF, while epoll reports nothing until a writer has come (and HUP once it left).
  c->Watch(true, false);
  return c;
}

Copier::~Copier() {
  *self_ = nullptr;
  Watch(false, false);
}

void Copier::FinishWhenEmpty() {
  if (done_) return;
  finish_when_empty_ = true;
  PostPump();
}

void Copier::PostPump() {
  std::weak_ptr<Copier*> weak = self_;
  loop_->Post([weak]() {
    auto self = weak.lock();
    if (self && *self && !(*self)->done_) (*self)->Pump();
  });
}

void Copier::Watch(bool src_in, bool dst_out) {
  if (src_in != src_watched_) {
    if (src_in) {
      std::weak_ptr<Copier*> weak = self_;
      absl::Status st = loop_->Add(src_.get(), EPOLLIN, [weak](uint32_t) {
        auto self = weak.lock();
        if (self && *self) (*self)->Pump();
      });
      if (!st.ok()) {
        src_pollable_ = false;  // a regular file: read it a chunk per turn
        PostPump();
        return;
      }
    } else {
      loop_->Remove(src_.get());
    }
    src_watched_ = src_in;
  }
  if (dst_out != dst_watched_) {
    if (dst_out) {
      std::weak_ptr<Copier*> weak = self_;
      absl::Status st = loop_->Add(dst_.get(), EPOLLOUT, [weak](uint32_t) {
        auto self = weak.lock();
        if (!self || !*self) return;
        (*self)->Watch(false, false);
        (*self)->Pump();
      });
      if (!st.ok()) {
        dst_pollable_ = false;
        PostPump();
        return;
      }
    } else {
      loop_->Remove(dst_.get());
    }
    dst_watched_ = dst_out;
  }
}

void Copier::WaitForSource() {
  if (finish_when_empty_) {
    Finish();
    return;
  }
  if (!src_pollable_) {
    PostPump();
    return;
  }
  Watch(true, false);
}

void Copier::WaitForDestination() {
  if (!dst_pollable_) {
    PostPump();
    return;
  }
  Watch(false, true);
}

bool Copier::Flush() {
  while (begin_ < end_) {
    ssize_t n = ::write(dst_.get(), buf_.get() + begin_, end_ - begin_);
    if (n > 0) {
      begin_ += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      WaitForDestination();
      return false;
    }
    log::Debug("stdio copy: destination closed", {{"stream", name_}, {"errno", errno}});
    Finish();
    return false;
  }
  begin_ = end_ = 0;
  return true;
}

void Copier::Pump() {
  if (done_) return;
  for (int round = 0; round < kRoundsPerTurn; ++round) {
    if (!Flush()) return;
    if (use_splice_) {
      ssize_t n = ::splice(src_.get(), nullptr, dst_.get(), nullptr, kChunk,
                           SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n > 0) continue;
      if (n == 0) return Finish();
      if (errno == EINTR) continue;
      if (errno == EINVAL) {  // neither end is a pipe, or one cannot splice (a tty)
        use_splice_ = false;
        continue;
      }
      if (errno == EAGAIN) {
        // Either the source is empty or the destination is full: ask the source.
        int avail = 0;
        if (::ioctl(src_.get(), FIONREAD, &avail) == 0 && avail > 0) return WaitForDestination();
        return WaitForSource();
      }
      log::Debug("stdio copy ended", {{"stream", name_}, {"errno", errno}});
      return Finish();
    }
    if (!buf_) buf_ = std::make_unique<char[]>(kBufSize);
    ssize_t n = ::read(src_.get(), buf_.get(), kBufSize);
    if (n > 0) {
      begin_ = 0;
      end_ = n;
      continue;
    }
    if (n == 0) return Finish();
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return WaitForSource();
    // EIO: the pty's terminal side is closed for good.
    return Finish();
  }
  // Busy stream: yield, and come back on the next turn.
  if (src_watched_ && src_pollable_) return;  // level-triggered: it fires again
  PostPump();
}

void Copier::Finish() {
  if (done_) return;
  done_ = true;
  Watch(false, false);
  src_.reset();
  dst_.reset();
  buf_.reset();
  if (on_done_) {
    std::weak_ptr<Copier*> weak = self_;
    loop_->Post([weak, fn = std::move(on_done_)]() {
      auto self = weak.lock();
      if (self && *self) fn();
    });
  }
}

}  // namespace berth::shim
