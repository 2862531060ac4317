// Copies a byte stream from one fd to another on the event loop, with backpressure: while the
// destination is full the source is not read, so a slow reader (or none) stalls the writer
// instead of growing a buffer. Pipe to pipe (a container's stdout pipe to the client's FIFO) moves
// data in the kernel with splice(2), with no buffer in the shim at all; other pairs (a pty master)
// go through one 16 KiB buffer, allocated on first use.
//
// The copy ends when the source ends (EOF; EIO from a pty master whose terminal closed) or the
// destination fails (EPIPE: nobody will ever read); then both fds are closed -- closing the
// destination is what tells the reader the stream ended -- and `on_done` runs (posted to the loop,
// never from inside a Copier method).
//
// Regular files cannot be polled: as a destination they are written directly (the kernel does
// not block long), as a source they are read a chunk per loop turn.
//
// Thread-safety: loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace berth::shim {

class Copier {
 public:
  // Takes both fds (made non-blocking) and starts copying.
  static absl::StatusOr<std::unique_ptr<Copier>> Start(sys::EventLoop* loop, sys::UniqueFd src,
                                                       sys::UniqueFd dst, std::string name,
                                                       std::function<void()> on_done);
  ~Copier();  // stops copying and closes both fds (on_done does not run)

  bool done() const { return done_; }
  // Ends the copy as soon as the source has nothing more to read right now (a console whose
  // process exited: what is buffered is still delivered).
  void FinishWhenEmpty();

 private:
  Copier(sys::EventLoop* loop, sys::UniqueFd src, sys::UniqueFd dst, std::string name,
         std::function<void()> on_done);
  void Pump();
  // Writes out the buffer; false if the destination is full (then waits for it) or failed.
  bool Flush();
  void WaitForSource();
  void WaitForDestination();
  void Watch(bool src_in, bool dst_out);
  void PostPump();
  void Finish();

  sys::EventLoop* loop_;
  sys::UniqueFd src_;
  sys::UniqueFd dst_;
  std::string name_;
  std::function<void()> on_done_;
  bool use_splice_ = true;
  bool src_pollable_ = true;
  bool dst_pollable_ = true;
  bool src_watched_ = false;
  bool dst_watched_ = false;
  bool finish_when_empty_ = false;
  bool done_ = false;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  // Posted callbacks hold a weak reference: they do nothing once the Copier is gone.
  std::shared_ptr<Copier*> self_;
};

// Sets O_NONBLOCK on `fd`.
absl::Status SetNonBlocking(int fd);

}  // namespace berth::shim
