#include "ttrpc/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "base/log.h"
#include "base/status.h"
#include "ttrpc/channel.h"

namespace berth::ttrpc {
namespace {

absl::Status ConnectError(int err, const std::string& path) {
  std::string context = absl::StrCat("ttrpc: connect ", path);
  switch (err) {
    case ECONNREFUSED:
    case ECONNRESET:
    case ETIMEDOUT:
    case EAGAIN:
      return absl::UnavailableError(absl::StrCat(context, ": ", std::strerror(err)));
    default:
      return ErrnoError(err, context);
  }
}

// A blocking connect that survives EINTR (after which the connection completes on its own).
int ConnectUnix(int fd, const sockaddr_un& addr, socklen_t len) {
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0) return 0;
  if (errno != EINTR) return errno;
  for (;;) {
    pollfd p{fd, POLLOUT, 0};
    int n = poll(&p, 1, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    int err = 0;
    socklen_t err_len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0) return errno;
    return err;
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<Client>> Client::Connect(sys::EventLoop* loop,
                                                        const std::string& path) {
  std::string target = path;
  if (absl::StartsWith(target, "unix://")) target = target.substr(7);
  sockaddr_un addr;
  ASSIGN_OR_RETURN(socklen_t addr_len, UnixAddress(target, &addr));
  sys::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "ttrpc: socket");
  if (int err = ConnectUnix(fd.get(), addr, addr_len); err != 0) return ConnectError(err, target);
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError(errno, "ttrpc: set non-blocking");
  }
  std::shared_ptr<Client> client(new Client(loop, std::move(fd)));
  // Registration happens on the loop; calls made meanwhile are posted behind it.
  loop->Post([client] { client->StartOnLoop(); });
  return client;
}

Client::Client(sys::EventLoop* loop, sys::UniqueFd fd) : loop_(loop), fd_(std::move(fd)) {}

Client::~Client() {
  // No posted task refers to this client any more (they hold references), but the channel and
  // the pending calls belong to the loop: hand them over.
  std::shared_ptr<Channel> channel = std::move(channel_);
  std::unordered_map<uint32_t, Pending> pending = std::move(pending_);
  if (pending.empty() && (!channel || channel->closed())) return;
  loop_->Post([loop = loop_, channel = std::move(channel), pending = std::move(pending)]() mutable {
    if (channel) channel->Abandon();
    for (auto& [id, call] : pending) {
      if (call.timer != 0) loop->Cancel(call.timer);
      call.done(ClosedError());
    }
  });
}

void Client::StartOnLoop() {
  channel_ = Channel::Create(loop_, std::move(fd_));
  std::weak_ptr<Client> weak = weak_from_this();
  Channel::Callbacks callbacks;
  callbacks.on_frame = [weak](const FrameHeader& header, absl::string_view payload) {
    if (auto self = weak.lock()) self->OnFrame(header, payload);
  };
  callbacks.on_oversized = [weak](const FrameHeader& header) {
    if (auto self = weak.lock()) {
      self->Finish(header.stream_id,
                   absl::ResourceExhaustedError(absl::StrCat("message length ", header.length,
                                                             " exceed maximum message size of ",
                                                             kMaxMessageSize)));
    }
  };
  callbacks.on_close = [weak](const absl::Status&) {
    if (auto self = weak.lock()) self->OnClosed();
  };
  absl::Status status = channel_->Start(std::move(callbacks));
  if (!status.ok()) {
    log::Error("ttrpc: cannot watch client connection", {{"error", status.ToString()}});
    channel_->Abandon();
    OnClosed();
  }
}

void Client::Call(const std::string& service, const std::string& method, std::string payload,
                  CallOptions options, std::function<void(absl::StatusOr<std::string>)> done) {
  Request request;
  request.service = service;
  request.method = method;
  request.payload = std::move(payload);
  request.metadata = std::move(options.metadata);
  absl::Time deadline = options.timeout == absl::InfiniteDuration()
                            ? absl::InfiniteFuture()
                            : absl::Now() + options.timeout;
  loop_->Post([self = shared_from_this(), request = std::move(request), deadline,
               done = std::move(done)]() mutable {
    self->CallOnLoop(std::move(request), deadline, std::move(done));
  });
}

void Client::CallOnLoop(Request request, absl::Time deadline,
                        std::function<void(absl::StatusOr<std::string>)> done) {
  if (!channel_ || channel_->closed() || close_ran_) {
    done(ClosedError());
    return;
  }
  absl::Duration remaining = absl::InfiniteDuration();
  if (deadline != absl::InfiniteFuture()) {
    remaining = deadline - absl::Now();
    if (remaining <= absl::ZeroDuration()) {
      done(absl::DeadlineExceededError(
          absl::StrCat("ttrpc: ", request.service, "/", request.method, ": deadline exceeded")));
      return;
    }
    request.timeout_nano = absl::ToInt64Nanoseconds(remaining);
  }
  uint32_t id = next_stream_id_;
  next_stream_id_ += 2;  // client-initiated streams are odd
  absl::Status sent = channel_->Send(id, MessageType::kRequest,
                                     [&](std::string* out) { EncodeRequest(request, out); });
  if (!sent.ok()) {
    done(sent);
    return;
  }
  Pending call;
  call.done = std::move(done);
  if (remaining != absl::InfiniteDuration()) {
    call.timer = loop_->After(remaining, [weak = weak_from_this(), id,
                                          what = absl::StrCat(request.service, "/",
                                                              request.method)] {
      if (auto self = weak.lock()) {
        self->Finish(id, absl::DeadlineExceededError(
                             absl::StrCat("ttrpc: ", what, ": deadline exceeded")));
      }
    });
  }
  pending_.emplace(id, std::move(call));
}

void Client::OnFrame(const FrameHeader& header, absl::string_view payload) {
  if (header.type != static_cast<uint8_t>(MessageType::kResponse)) {
    Finish(header.stream_id, absl::InternalError("ttrpc: unknown message type received"));
    return;
  }
  absl::StatusOr<Response> response = DecodeResponse(payload);
  if (!response.ok()) {
    Finish(header.stream_id, response.status());
    return;
  }
  if (!response->status.ok()) {
    Finish(header.stream_id, std::move(response->status));
    return;
  }
  Finish(header.stream_id, std::move(response->payload));
}

void Client::Finish(uint32_t stream_id, absl::StatusOr<std::string> result) {
  auto it = pending_.find(stream_id);
  if (it == pending_.end()) return;  // timed out already, or a stream we never opened
  Pending call = std::move(it->second);
  pending_.erase(it);
  if (call.timer != 0) loop_->Cancel(call.timer);
  call.done(std::move(result));
}

void Client::OnClosed() {
  closed_.store(true);
  if (close_ran_) return;
  close_ran_ = true;
  std::unordered_map<uint32_t, Pending> pending;
  pending.swap(pending_);
  for (auto& [id, call] : pending) {
    if (call.timer != 0) loop_->Cancel(call.timer);
    call.done(ClosedError());
  }
  std::vector<std::function<void()>> on_close;
  on_close.swap(on_close_);
  for (auto& fn : on_close) fn();
}

absl::Status Client::CallSync(const std::string& service, const std::string& method,
                              const google::protobuf::MessageLite& request,
                              google::protobuf::MessageLite* response, CallOptions options) {
  if (loop_->InLoopThread()) {
    return absl::FailedPreconditionError(
        "ttrpc: CallSync on the loop thread would deadlock; use Call");
  }
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return absl::InternalError("ttrpc: error marshaling request");
  }
  struct State {
    absl::Notification done;
    absl::StatusOr<std::string> result;
  };
  auto state = std::make_shared<State>();
  absl::Duration timeout = options.timeout;
  Call(service, method, std::move(payload), std::move(options),
       [state](absl::StatusOr<std::string> result) {
         state->result = std::move(result);
         state->done.Notify();
       });
  if (timeout == absl::InfiniteDuration()) {
    state->done.WaitForNotification();
  } else if (!state->done.WaitForNotificationWithTimeout(timeout + absl::Seconds(1))) {
    // The loop's own timer answers first unless the loop is not running.
    return absl::DeadlineExceededError(
        absl::StrCat("ttrpc: ", service, "/", method, ": deadline exceeded (loop not running?)"));
  }
  // Moved out: the state may be released on the loop thread.
  if (!state->result.ok()) return std::move(state->result).status();
  if (!response->ParseFromString(*state->result)) {
    return absl::InternalError(absl::StrCat("ttrpc: ", service, "/", method,
                                            ": error unmarshaling response"));
  }
  return absl::OkStatus();
}

void Client::OnClose(std::function<void()> fn) {
  loop_->Post([self = shared_from_this(), fn = std::move(fn)]() mutable {
    if (self->close_ran_) {
      fn();
    } else {
      self->on_close_.push_back(std::move(fn));
    }
  });
}

void Client::Close() {
  closed_.store(true);
  loop_->Post([self = shared_from_this()] {
    if (self->channel_ && !self->channel_->closed()) {
      self->channel_->Close(ClosedError());
    } else {
      self->OnClosed();
    }
  });
}

}  // namespace berth::ttrpc
