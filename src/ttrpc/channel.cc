#include "ttrpc/channel.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth::ttrpc {
namespace {

// Buffers above this size are freed once empty, so one large message does not pin memory.
constexpr size_t kKeepCapacity = 64 << 10;
constexpr size_t kReadChunk = 16 << 10;
// Reads per readiness event: bounds the time one busy connection holds the loop.
constexpr int kMaxReadsPerEvent = 64;

void ReleaseIfLarge(std::string* buffer) {
  if (buffer->empty() && buffer->capacity() > kKeepCapacity) std::string().swap(*buffer);
}

}  // namespace

absl::Status ClosedError() { return absl::UnavailableError("ttrpc: closed"); }

std::shared_ptr<Channel> Channel::Create(sys::EventLoop* loop, sys::UniqueFd fd) {
  return std::shared_ptr<Channel>(new Channel(loop, std::move(fd)));
}

Channel::~Channel() {
  if (registered_) loop_->Remove(fd_.get());
}

absl::Status Channel::Start(Callbacks callbacks) {
  if (closed()) return ClosedError();
  callbacks_ = std::move(callbacks);
  std::weak_ptr<Channel> weak = weak_from_this();
  RETURN_IF_ERROR(loop_->Add(fd_.get(), EPOLLIN, [weak](uint32_t events) {
    if (auto self = weak.lock()) self->OnEvents(events);
  }));
  registered_ = true;
  return absl::OkStatus();
}

void Channel::OnEvents(uint32_t events) {
  if (closed()) return;
  if ((events & EPOLLOUT) && want_write_) {
    absl::Status status = Flush();
    if (!status.ok()) {
      Close(status);
      return;
    }
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) ReadAvailable();
}

void Channel::ReadAvailable() {
  char buf[kReadChunk];
  for (int i = 0; i < kMaxReadsPerEvent && !closed() && !failed_; ++i) {
    ssize_t n = read(fd_.get(), buf, sizeof(buf));
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      Consume();
      if (static_cast<size_t>(n) < sizeof(buf)) return;  // drained; level-triggered for the rest
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    Close(n == 0 ? ClosedError() : ErrnoError(errno, "ttrpc: read"));
    std::string().swap(in_);  // no frame callback is running here
    return;
  }
}

void Channel::Consume() {
  size_t offset = 0;
  while (!closed()) {
    size_t available = in_.size() - offset;
    if (discard_ > 0) {
      size_t skip = std::min<uint64_t>(discard_, available);
      offset += skip;
      discard_ -= skip;
      if (discard_ > 0) break;
      continue;
    }
    if (available < kFrameHeaderSize) break;
    FrameHeader header = DecodeFrameHeader(in_.data() + offset);
    if (header.length > kMaxMessageSize) {
      offset += kFrameHeaderSize;
      discard_ = header.length;
      if (callbacks_.on_oversized) callbacks_.on_oversized(header);
      continue;
    }
    if (available - kFrameHeaderSize < header.length) break;
    absl::string_view payload(in_.data() + offset + kFrameHeaderSize, header.length);
    offset += kFrameHeaderSize + header.length;
    if (callbacks_.on_frame) callbacks_.on_frame(header, payload);
  }
  if (closed()) {
    std::string().swap(in_);
    return;
  }
  in_.erase(0, offset);
  if (discard_ == 0 && in_.size() >= kFrameHeaderSize) {
    // Room for the whole frame at once instead of growing by doubling.
    FrameHeader header = DecodeFrameHeader(in_.data());
    if (header.length <= kMaxMessageSize) in_.reserve(kFrameHeaderSize + header.length);
  }
  ReleaseIfLarge(&in_);
}

absl::Status Channel::Send(uint32_t stream_id, MessageType type,
                           absl::FunctionRef<void(std::string*)> encode) {
  if (closed() || failed_) return ClosedError();
  size_t start = out_.size();
  out_.append(kFrameHeaderSize, '\0');
  encode(&out_);
  size_t length = out_.size() - start - kFrameHeaderSize;
  if (length > kMaxMessageSize) {
    out_.resize(start);
    ReleaseIfLarge(&out_);
    return absl::ResourceExhaustedError(absl::StrCat("message length ", length,
                                                     " exceed maximum message size of ",
                                                     kMaxMessageSize));
  }
  FrameHeader header;
  header.length = static_cast<uint32_t>(length);
  header.stream_id = stream_id;
  header.type = static_cast<uint8_t>(type);
  EncodeFrameHeader(header, &out_[start]);
  if (want_write_) {
    // EPOLLOUT will flush it behind the earlier bytes, unless the peer has stopped reading.
    if (pending_write_bytes() > kMaxPendingWriteBytes) {
      FailLater(absl::ResourceExhaustedError(absl::StrCat(
          "ttrpc: the peer is not reading: ", pending_write_bytes(), " bytes queued")));
    }
    return absl::OkStatus();
  }
  if (absl::Status status = Flush(); !status.ok()) FailLater(status);
  return absl::OkStatus();
}

void Channel::FailLater(const absl::Status& status) {
  // Callers do not expect callbacks from inside Send: close from the loop instead.
  failed_ = true;
  if (registered_) {
    loop_->Remove(fd_.get());
    registered_ = false;
  }
  loop_->Post([weak = weak_from_this(), status] {
    if (auto self = weak.lock()) self->Close(status);
  });
}

absl::Status Channel::Flush() {
  while (out_offset_ < out_.size()) {
    // MSG_NOSIGNAL: a peer that went away is an EPIPE error here, not a SIGPIPE for the process.
    ssize_t n = send(fd_.get(), out_.data() + out_offset_, out_.size() - out_offset_,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) {
      out_offset_ += static_cast<size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (out_offset_ >= out_.size() / 2) {
        out_.erase(0, out_offset_);
        out_offset_ = 0;
      }
      if (!want_write_) {
        RETURN_IF_ERROR(loop_->Modify(fd_.get(), EPOLLIN | EPOLLOUT));
        want_write_ = true;
      }
      return absl::OkStatus();
    }
    return ErrnoError(errno, "ttrpc: write");
  }
  out_.clear();
  out_offset_ = 0;
  ReleaseIfLarge(&out_);
  if (want_write_) {
    RETURN_IF_ERROR(loop_->Modify(fd_.get(), EPOLLIN));
    want_write_ = false;
  }
  return absl::OkStatus();
}

void Channel::Shutdown() {
  if (registered_) {
    loop_->Remove(fd_.get());
    registered_ = false;
  }
  fd_.reset();
  want_write_ = false;
  std::string().swap(out_);
  out_offset_ = 0;
  // in_ may hold the payload a callback is reading right now: Consume frees it.
}

void Channel::Close(const absl::Status& reason) {
  if (closed()) return;
  Shutdown();
  // The callbacks stay alive (one may be running); closed() keeps them from being called again.
  if (callbacks_.on_close) callbacks_.on_close(reason);
}

void Channel::Abandon() { Shutdown(); }

absl::StatusOr<socklen_t> UnixAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.empty() || path == "@") {
    return absl::InvalidArgumentError("ttrpc: empty unix socket path");
  }
  if (path.size() >= sizeof(addr->sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("ttrpc: unix socket path too long: ", path));
  }
  std::memcpy(addr->sun_path, path.data(), path.size());
  if (path[0] == '@') {
    addr->sun_path[0] = '\0';  // abstract namespace: the length tells where the name ends
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
  }
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
}

}  // namespace berth::ttrpc
