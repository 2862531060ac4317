// One ttrpc connection's byte stream on an EventLoop (the counterpart of ttrpc's channel.go):
// non-blocking reads cut into frames, and buffered non-blocking writes flushed on EPOLLOUT. Used
// by both the server (one per accepted connection) and the client. Internal to src/ttrpc.
//
// A frame longer than kMaxMessageSize is skipped (its payload read and discarded, as ttrpc does)
// and reported through on_oversized; the connection stays usable. EOF, a socket error, or
// Close() close the fd and run on_close once; no callback runs after that.
//
// Thread-safety: loop thread only. Held by shared_ptr; the loop registration holds a weak_ptr,
// and a callback in progress keeps the channel alive until it returns.
#pragma once

#include <sys/un.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"
#include "ttrpc/wire.h"

namespace berth::ttrpc {

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  // Bytes a channel queues for a peer that does not read before it gives the peer up: eight
  // messages of the largest size.
  static constexpr size_t kMaxPendingWriteBytes = 8 * kMaxMessageSize;

  struct Callbacks {
    // A complete frame; `payload` is valid during the call only.
    std::function<void(const FrameHeader& header, absl::string_view payload)> on_frame;
    // A frame whose length exceeded kMaxMessageSize (its payload is discarded).
    std::function<void(const FrameHeader& header)> on_oversized;
    // Runs once when the channel closes; `reason` is Unavailable "ttrpc: closed" for EOF and
    // Close(), or the socket error.
    std::function<void(const absl::Status& reason)> on_close;
  };

  // `fd` must be a connected, non-blocking stream socket.
  static std::shared_ptr<Channel> Create(sys::EventLoop* loop, sys::UniqueFd fd);
  ~Channel();

  // Registers with the loop and starts reading.
  absl::Status Start(Callbacks callbacks);

  // Queues one frame whose payload `encode` appends to the string it is given, and writes what
  // the socket takes now. ResourceExhausted (nothing sent) when the payload exceeds
  // kMaxMessageSize; Unavailable when the channel is closed. Never runs a callback: a write
  // error closes the channel from a posted task, and so does a peer that has stopped reading
  // (more than kMaxPendingWriteBytes queued; on_close gets ResourceExhausted).
  absl::Status Send(uint32_t stream_id, MessageType type,
                    absl::FunctionRef<void(std::string*)> encode);

  // Closes the fd and runs on_close (once).
  void Close(const absl::Status& reason);
  // Closes the fd without running any callback (the owner is going away).
  void Abandon();

  bool closed() const { return !fd_.valid(); }
  int fd() const { return fd_.get(); }
  // Bytes queued but not yet taken by the socket.
  size_t pending_write_bytes() const { return out_.size() - out_offset_; }

 private:
  Channel(sys::EventLoop* loop, sys::UniqueFd fd) : loop_(loop), fd_(std::move(fd)) {}
  void OnEvents(uint32_t events);
  void ReadAvailable();
  void Consume();
  // Writes queued bytes; on error returns it (the caller decides how to close).
  absl::Status Flush();
  // Stops reading and writing now and closes with `status` from a posted task.
  void FailLater(const absl::Status& status);
  void Shutdown();

  sys::EventLoop* const loop_;
  sys::UniqueFd fd_;
  Callbacks callbacks_;
  bool registered_ = false;
  bool want_write_ = false;  // EPOLLOUT is being watched
  bool failed_ = false;      // a write failed; a posted Close is on its way
  std::string in_;
  uint64_t discard_ = 0;  // bytes of an oversized frame still to skip
  std::string out_;
  size_t out_offset_ = 0;
};

// The Unavailable status of a closed connection ("ttrpc: closed", as ttrpc's ErrClosed).
absl::Status ClosedError();

// Fills a sockaddr_un for `path` (a leading '@' names an abstract socket). InvalidArgument
// when the path is empty or too long.
absl::StatusOr<socklen_t> UnixAddress(const std::string& path, sockaddr_un* addr);

}  // namespace berth::ttrpc
