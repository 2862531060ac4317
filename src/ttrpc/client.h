// A ttrpc client (containerd's ttrpc 1.1 protocol, unary calls) on a sys::EventLoop.
//
// berthd keeps one loop thread for all its shim connections; the shim uses its own loop to
// forward events to its daemon. Calls are multiplexed on one connection (odd stream ids, answers
// in any order). When the connection closes, every pending call fails with Unavailable and the
// OnClose callback runs (on the loop).
//
// Thread-safety: every method may be called from any thread; the work is posted to the loop in
// call order, so `done` and OnClose callbacks always run later, on the loop thread, never inside
// the call that registered them. CallSync blocks the calling thread and must not be called on
// the loop thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message_lite.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"
#include "ttrpc/wire.h"

namespace berth::ttrpc {

struct CallOptions {
  // Sent as timeout_nano, and the call fails DeadlineExceeded locally when it passes.
  absl::Duration timeout = absl::InfiniteDuration();
  // Sent as request metadata, e.g. {kNamespaceKey, "default"}.
  std::multimap<std::string, std::string> metadata;
};

class Channel;

class Client : public std::enable_shared_from_this<Client> {
 public:
  // Connects to the unix socket at `path` (a "unix://" prefix is accepted). Blocking connect;
  // NotFound / Unavailable when nobody listens.
  static absl::StatusOr<std::shared_ptr<Client>> Connect(sys::EventLoop* loop,
                                                         const std::string& path);
  // Dropping the last reference closes the connection (on the loop); pending calls then fail
  // Unavailable, but OnClose callbacks do not run. The loop must outlive the client.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a request; `done` runs on the loop with the response payload or the error (the
  // server's google.rpc.Status as an absl::Status, Unavailable if the connection closed first,
  // DeadlineExceeded on timeout).
  void Call(const std::string& service, const std::string& method, std::string payload,
            CallOptions options, std::function<void(absl::StatusOr<std::string>)> done);

  // Blocking typed call: FailedPrecondition on the loop thread (it would deadlock), Internal
  // when the response does not parse; otherwise like Call.
  absl::Status CallSync(const std::string& service, const std::string& method,
                        const google::protobuf::MessageLite& request,
                        google::protobuf::MessageLite* response, CallOptions options = {});

  // Adds `fn` to run once (on the loop) when the connection closes, either side; runs it soon
  // if the connection is already closed.
  void OnClose(std::function<void()> fn);
  bool closed() const { return closed_.load(); }
  // Closes the connection; pending calls fail Unavailable.
  void Close();

 private:
  struct Pending {
    std::function<void(absl::StatusOr<std::string>)> done;
    sys::EventLoop::TimerId timer = 0;
  };

  Client(sys::EventLoop* loop, sys::UniqueFd fd);
  void StartOnLoop();
  void CallOnLoop(Request request, absl::Time deadline,
                  std::function<void(absl::StatusOr<std::string>)> done);
  void OnFrame(const FrameHeader& header, absl::string_view payload);
  void Finish(uint32_t stream_id, absl::StatusOr<std::string> result);
  void OnClosed();

  sys::EventLoop* const loop_;
  std::atomic<bool> closed_{false};
  // Loop thread only.
  sys::UniqueFd fd_;  // until StartOnLoop hands it to the channel
  std::shared_ptr<Channel> channel_;
  uint32_t next_stream_id_ = 1;
  std::unordered_map<uint32_t, Pending> pending_;
  std::vector<std::function<void()>> on_close_;
  bool close_ran_ = false;
};

}  // namespace berth::ttrpc
