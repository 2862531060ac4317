#include "ttrpc/server.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "ttrpc/channel.h"

namespace berth::ttrpc {
namespace {

// Sends one response on `weak` if the connection is still there. A payload too large for a
// frame is replaced by the ResourceExhausted error, as later ttrpc versions do.
void SendResponse(const std::weak_ptr<Channel>& weak, uint32_t stream_id,
                  const absl::Status& status, const std::string& payload) {
  std::shared_ptr<Channel> channel = weak.lock();
  if (!channel || channel->closed()) return;
  absl::Status sent = channel->Send(stream_id, MessageType::kResponse, [&](std::string* out) {
    EncodeResponse(status, payload, out);
  });
  if (sent.code() == absl::StatusCode::kResourceExhausted) {
    (void)channel->Send(stream_id, MessageType::kResponse,
                        [&](std::string* out) { EncodeResponse(sent, "", out); });
  }
}

class ServerCall final : public Call {
 public:
  ServerCall(sys::EventLoop* loop, std::weak_ptr<Channel> channel, uint32_t stream_id,
             Request request, absl::Time deadline)
      : loop_(loop),
        channel_(std::move(channel)),
        stream_id_(stream_id),
        request_(std::move(request)),
        deadline_(deadline) {}

  const std::string& service() const override { return request_.service; }
  const std::string& method() const override { return request_.method; }
  const std::string& payload() const override { return request_.payload; }
  const std::multimap<std::string, std::string>& metadata() const override {
    return request_.metadata;
  }
  absl::Time deadline() const override { return deadline_; }

  void Reply(const google::protobuf::MessageLite& response) override {
    if (answered_.exchange(true)) return;
    std::string payload;
    if (!response.SerializeToString(&payload)) {
      Answer(absl::InternalError("ttrpc: error marshaling payload"), "");
      return;
    }
    Answer(absl::OkStatus(), std::move(payload));
  }

  void ReplyError(const absl::Status& status) override {
    if (answered_.exchange(true)) return;
    Answer(status, "");
  }

 private:
  void Answer(absl::Status status, std::string payload) {
    if (loop_->InLoopThread()) {
      SendResponse(channel_, stream_id_, status, payload);
      return;
    }
    loop_->Post([channel = channel_, id = stream_id_, status = std::move(status),
                 payload = std::move(payload)] { SendResponse(channel, id, status, payload); });
  }

  sys::EventLoop* const loop_;
  const std::weak_ptr<Channel> channel_;
  const uint32_t stream_id_;
  const Request request_;
  const absl::Time deadline_;
  std::atomic<bool> answered_{false};
};

absl::Status SetNonBlockingCloexec(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return ErrnoError(errno, "ttrpc: set listener non-blocking");
  }
  int fd_flags = fcntl(fd, F_GETFD);
  if (fd_flags < 0 || fcntl(fd, F_SETFD, fd_flags | FD_CLOEXEC) < 0) {
    return ErrnoError(errno, "ttrpc: set listener close-on-exec");
  }
  return absl::OkStatus();
}

}  // namespace

std::string Call::Metadata(absl::string_view key) const {
  auto it = metadata().find(std::string(key));
  return it == metadata().end() ? "" : it->second;
}

Server::Server(sys::EventLoop* loop) : loop_(loop) {}

Server::~Server() {
  for (auto& listener : listeners_) loop_->Remove(listener.get());
  for (auto& [raw, channel] : connections_) channel->Abandon();
}

void Server::Register(const std::string& service, const std::string& method, Handler handler) {
  services_[service][method] = std::move(handler);
}

absl::Status Server::Serve(sys::UniqueFd listener) {
  if (!listener.valid()) return absl::InvalidArgumentError("ttrpc: invalid listener fd");
  RETURN_IF_ERROR(SetNonBlockingCloexec(listener.get()));
  int fd = listener.get();
  RETURN_IF_ERROR(loop_->Add(fd, EPOLLIN, [this, fd](uint32_t) { Accept(fd); }));
  listeners_.push_back(std::move(listener));
  return absl::OkStatus();
}

int Server::connections() const { return static_cast<int>(connections_.size()); }

void Server::OnConnectionClosed(std::function<void()> fn) { on_connection_closed_ = std::move(fn); }

void Server::Accept(int listener) {
  for (;;) {
    sys::UniqueFd conn(accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!conn.valid()) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        log::Error("ttrpc: accept failed", {{"error", std::strerror(errno)}});
      }
      return;
    }
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
      log::Warn("ttrpc: refusing connection", {{"error", std::strerror(errno)}});
      continue;
    }
    if (cred.uid != geteuid() || cred.gid != getegid()) {
      log::Warn("ttrpc: refusing connection from another user",
                {{"uid", cred.uid}, {"gid", cred.gid}, {"pid", cred.pid}});
      continue;
    }
    std::shared_ptr<Channel> channel = Channel::Create(loop_, std::move(conn));
    Channel* raw = channel.get();
    Channel::Callbacks callbacks;
    callbacks.on_frame = [this, raw](const FrameHeader& header, absl::string_view payload) {
      OnFrame(raw, header, payload);
    };
    callbacks.on_oversized = [raw](const FrameHeader& header) {
      SendResponse(raw->weak_from_this(), header.stream_id,
                   absl::ResourceExhaustedError(
                       absl::StrCat("message length ", header.length,
                                    " exceed maximum message size of ", kMaxMessageSize)),
                   "");
    };
    callbacks.on_close = [this, raw](const absl::Status&) { OnClosed(raw); };
    absl::Status status = channel->Start(std::move(callbacks));
    if (!status.ok()) {
      log::Error("ttrpc: cannot watch connection", {{"error", status.ToString()}});
      continue;
    }
    connections_.emplace(raw, std::move(channel));
  }
}

void Server::OnFrame(Channel* channel, const FrameHeader& header, absl::string_view payload) {
  // Other message types are ignored for forward compatibility, as ttrpc does.
  if (header.type != static_cast<uint8_t>(MessageType::kRequest)) return;
  std::weak_ptr<Channel> weak = channel->weak_from_this();
  absl::StatusOr<Request> request = DecodeRequest(payload);
  if (!request.ok()) {
    SendResponse(weak, header.stream_id,
                 absl::InvalidArgumentError(
                     absl::StrCat("unmarshal request error: ", request.status().message())),
                 "");
    return;
  }
  if (header.stream_id % 2 != 1) {
    SendResponse(weak, header.stream_id,
                 absl::InvalidArgumentError("StreamID must be odd for client initiated streams"),
                 "");
    return;
  }
  // ttrpc's own wording (services.go resolve).
  auto service = services_.find(request->service);
  if (service == services_.end()) {
    SendResponse(weak, header.stream_id,
                 absl::UnimplementedError(absl::StrCat("service ", request->service)), "");
    return;
  }
  auto method = service->second.find(request->method);
  if (method == service->second.end()) {
    SendResponse(weak, header.stream_id,
                 absl::UnimplementedError(absl::StrCat("method ", request->method)), "");
    return;
  }
  absl::Time deadline = request->timeout_nano == 0
                            ? absl::InfiniteFuture()
                            : absl::Now() + absl::Nanoseconds(request->timeout_nano);
  Handler handler = method->second;  // a copy: the handler may re-register itself
  handler(std::make_shared<ServerCall>(loop_, std::move(weak), header.stream_id,
                                       *std::move(request), deadline));
}

void Server::OnClosed(Channel* channel) {
  // The channel itself lives on until its callback returns (the loop holds it).
  connections_.erase(channel);
  if (on_connection_closed_) {
    std::function<void()> fn = on_connection_closed_;
    fn();
  }
}

absl::StatusOr<sys::UniqueFd> ListenUnix(const std::string& path) {
  sockaddr_un addr;
  ASSIGN_OR_RETURN(socklen_t addr_len, UnixAddress(path, &addr));
  sys::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError(errno, "ttrpc: socket");
  if (path[0] != '@') {
    // Remove a socket left behind by an earlier process; anything else at the path is kept and
    // makes bind fail.
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && unlink(path.c_str()) < 0) {
      return ErrnoError(errno, absl::StrCat("ttrpc: remove stale socket ", path));
    }
  }
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), addr_len) < 0) {
    return ErrnoError(errno, absl::StrCat("ttrpc: bind ", path));
  }
  if (listen(fd.get(), SOMAXCONN) < 0) {
    return ErrnoError(errno, absl::StrCat("ttrpc: listen ", path));
  }
  return fd;
}

}  // namespace berth::ttrpc
