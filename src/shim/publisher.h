// Forwards the shim's task events to its daemon: containerd.services.events.ttrpc.v1.Events/
// Forward on the ttrpc socket named by TTRPC_ADDRESS, with the namespace in the request metadata
// (containerd-namespace-ttrpc), one envelope {timestamp, namespace, topic, event Any} per event.
//
// Events leave in the order they were published, one call at a time, from a queue. The daemon may
// be away (restarting, or not yet listening): then the connection is retried with backoff
// (100 ms doubling to 2 s) and the events wait, however long -- a daemon that comes back still
// learns of every exit. An event the daemon refuses outright (an error other than Unavailable or
// DeadlineExceeded) is retried 5 times and then dropped, except /tasks/exit, which is never
// dropped. The queue holds at most kMaxQueued events; past that the oldest events other than
// exits are dropped.
//
// Thread-safety: loop thread only.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/message.h"
#include "sys/event_loop.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

namespace berth::shim {

class Publisher {
 public:
  static constexpr size_t kMaxQueued = 4096;
  static constexpr absl::Duration kMinBackoff = absl::Milliseconds(100);
  static constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
  static constexpr absl::Duration kCallTimeout = absl::Seconds(5);
  static constexpr int kMaxAttempts = 5;

  // `address`: the daemon's ttrpc socket ("" drops every event: nobody to tell).
  Publisher(sys::EventLoop* loop, std::string address, std::string ns);
  ~Publisher();

  // Queues `event` under `topic` (e.g. "/tasks/exit"); the Any's type URL is the message's full
  // name ("containerd.events.TaskExit").
  void Publish(absl::string_view topic, const google::protobuf::Message& event);

  // Events not yet delivered.
  size_t pending() const { return queue_.size(); }
  // Runs `fn` once the queue is empty (now, posted, if it is).
  void WhenIdle(std::function<void()> fn);

 private:
  struct Item {
    containerd::services::events::ttrpc::v1::Envelope envelope;
    int attempts = 0;
  };

  void Kick();
  void Send();
  void Retry();
  void Delivered();
  void NotifyIdle();

  sys::EventLoop* loop_;
  std::string address_;
  std::string ns_;
  std::deque<Item> queue_;
  std::shared_ptr<ttrpc::Client> client_;
  bool in_flight_ = false;
  bool waiting_ = false;  // a retry timer is set
  sys::EventLoop::TimerId retry_timer_ = 0;
  absl::Duration backoff_ = kMinBackoff;
  std::vector<std::function<void()>> idle_waiters_;
  std::shared_ptr<Publisher*> self_;
};

}  // namespace berth::shim
