// The shim's ttrpc service, containerd.task.v2.Task: the 17 RPCs of containerd's shim v2
// protocol, with containerd 1.6's runc shim's semantics and error codes (see docs/shim.md), over
// the containers this shim serves (usually one; more when containers share a shim through the
// io.containerd.runc.v2.group annotation).
//
// It turns RPCs into Container calls, answers Wait when the process exits (the call is held, not
// a thread), and publishes the task events: /tasks/create, /tasks/start, /tasks/exec-added,
// /tasks/exec-started, /tasks/paused, /tasks/resumed, /tasks/checkpointed, /tasks/oom,
// /tasks/exit and /tasks/delete.
//
// Thread-safety: loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "shim/container.h"
#include "shim/publisher.h"
#include "shim/reaper.h"
#include "sys/event_loop.h"
#include "ttrpc/server.h"

namespace berth::shim {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

class TaskService {
 public:
  struct Config {
    std::string ns;       // the shim's -namespace
    std::string address;  // the daemon's -address
    // Called once when Shutdown is accepted (no containers left): the caller stops serving.
    std::function<void()> shutdown;
    // Called on every request and process exit (the shim trims its memory after activity).
    std::function<void()> activity;
  };

  TaskService(sys::EventLoop* loop, Reaper* reaper, Publisher* publisher, Config config);
  ~TaskService();

  // Registers every method of containerd.task.v2.Task on `server`.
  void Register(ttrpc::Server* server);

  // Containers served (Shutdown is refused while there are any).
  size_t containers() const { return containers_.size(); }

 private:
  Container* Find(const std::string& id) const;
  void OnExit(Container* container, Process* process);

  sys::EventLoop* loop_;
  Reaper* reaper_;
  Publisher* publisher_;
  Config config_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  // Deleted tasks' rootfs file systems, detached and pinned until the service is destroyed
  // (the shim is exiting; its answers are out), so that their final sync delays no call.
  std::vector<sys::UniqueFd> detached_mounts_;
  bool shutting_down_ = false;
};

}  // namespace berth::shim
