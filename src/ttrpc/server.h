// A ttrpc server (containerd's ttrpc 1.1 protocol, unary calls only) on a sys::EventLoop.
//
// Wire format (see docs/ttrpc.md): frames of a 10-byte header (u32 big-endian payload length,
// u32 big-endian stream id, u8 type 1 = request / 2 = response, u8 flags = 0) and a protobuf
// payload of at most 4 MiB. Request {1 service, 2 method, 3 payload, 4 timeout_nano,
// 5 metadata {1 key, 2 value}}; Response {1 google.rpc.Status, 2 payload}.
//
// Handlers run on the loop thread and answer through their Call, now or later (the shim's Wait
// answers when the process exits). Answering a call whose connection has gone is a no-op.
//
// Thread-safety: everything on the loop thread, except that a Call may be answered from any
// thread (the answer is posted to the loop). The loop must outlive the server and its Calls.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"
#include "ttrpc/wire.h"

namespace berth::ttrpc {

// The metadata key containerd's ttrpc clients send the namespace in.
inline constexpr absl::string_view kNamespaceKey = "containerd-namespace-ttrpc";

// One incoming request. Shared by the server and the handler until answered.
class Call {
 public:
  virtual ~Call() = default;
  virtual const std::string& service() const = 0;
  virtual const std::string& method() const = 0;
  virtual const std::string& payload() const = 0;
  // The request's metadata (a key may repeat; ttrpc keeps them in order).
  virtual const std::multimap<std::string, std::string>& metadata() const = 0;
  // The first value of `key`, or "" when absent.
  std::string Metadata(absl::string_view key) const;
  // The client's deadline (timeout_nano from the request), or absl::InfiniteFuture().
  virtual absl::Time deadline() const = 0;

  // Answers the call: OK with `response` serialized, or the error (its code and message go into
  // the google.rpc.Status). Only the first answer counts.
  virtual void Reply(const google::protobuf::MessageLite& response) = 0;
  virtual void ReplyError(const absl::Status& status) = 0;
};

using Handler = std::function<void(std::shared_ptr<Call> call)>;

class Channel;

class Server {
 public:
  explicit Server(sys::EventLoop* loop);
  ~Server();  // closes listeners and connections (on the loop thread)
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers (or replaces) `handler` for "/service/method". Unknown ones are answered as
  // ttrpc 1.1 does: Unimplemented "service <service>" or "method <method>".
  void Register(const std::string& service, const std::string& method, Handler handler);

  // Typed convenience: parses the payload into Req (InvalidArgument when it does not parse) and
  // passes it with the call, which the handler answers with Reply(Resp) or ReplyError.
  template <typename Req>
  void Handle(const std::string& service, const std::string& method,
              std::function<void(const Req& request, std::shared_ptr<Call> call)> fn) {
    Register(service, method, [fn = std::move(fn)](std::shared_ptr<Call> call) {
      Req request;
      if (!request.ParseFromString(call->payload())) {
        call->ReplyError(absl::InvalidArgumentError("ttrpc: malformed request payload"));
        return;
      }
      fn(request, std::move(call));
    });
  }

  // Serves connections accepted on `listener` (a listening unix stream socket; owned). Makes it
  // non-blocking and close-on-exec (it may have been inherited). As containerd's shim does
  // (ttrpc.UnixSocketRequireSameUser), connections from a peer whose uid or gid differs from
  // our effective ones are closed at once.
  absl::Status Serve(sys::UniqueFd listener);

  // Number of open client connections.
  int connections() const;

  // Called (on the loop) when a connection closes; the shim uses it to notice its daemon left.
  void OnConnectionClosed(std::function<void()> fn);

 private:
  void Accept(int listener);
  void OnFrame(Channel* channel, const FrameHeader& header, absl::string_view payload);
  void OnClosed(Channel* channel);

  sys::EventLoop* const loop_;
  std::vector<sys::UniqueFd> listeners_;
  std::map<std::string, std::map<std::string, Handler>> services_;
  std::unordered_map<Channel*, std::shared_ptr<Channel>> connections_;
  std::function<void()> on_connection_closed_;
};

// Creates, binds and listens on a unix stream socket at `path` (removing a stale socket file
// first; any other file there makes it fail). A leading '@' names an abstract socket. The
// returned fd is close-on-exec and blocking (Serve makes it non-blocking).
absl::StatusOr<sys::UniqueFd> ListenUnix(const std::string& path);

}  // namespace berth::ttrpc
