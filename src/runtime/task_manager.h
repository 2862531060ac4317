// The v2 runtime: one shim process per task, each reached over ttrpc (containerd's
// runtime/v2 TaskManager).
//
// Creating a task makes its bundle (bundle.h), starts the shim binary for the container's
// runtime (shim_binary.h), connects to it and calls its Create. The shim forwards task events
// (/tasks/exit, ...) to berthd's ttrpc socket `<grpc address>.ttrpc`, served here, which
// republishes them on the exchange. When a shim's connection drops while its task is still
// listed, the task is cleaned up as containerd does: the shim binary's `delete` action, then
// /tasks/exit and /tasks/delete, then the bundle is removed.
//
// Restart: Start() finds the bundles a previous berthd left, reconnects to every live shim (in
// parallel) and cleans up after dead ones, before the daemon serves.
//
// Thread-safety: all public methods may be called from any thread except the manager's loop
// thread (Task's blocking calls use ttrpc::Client::CallSync). One mutex guards the task table;
// one loop thread runs every ttrpc connection; one worker thread runs dead-shim cleanups.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "events/exchange.h"
#include "github.com/containerd/containerd/api/types/mount.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/any.pb.h"
#include "runtime/bundle.h"
#include "runtime/shim_binary.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

namespace berth::runtime {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

// One task: its bundle and the connection to its shim.
class Task {
 public:
  Task(Bundle bundle, std::string runtime, std::shared_ptr<ttrpc::Client> client,
       ShimCommand command)
      : bundle_(std::move(bundle)),
        runtime_(std::move(runtime)),
        client_(std::move(client)),
        command_(std::move(command)) {}

  const std::string& ns() const { return bundle_.ns; }
  const std::string& id() const { return bundle_.id; }
  const Bundle& bundle() const { return bundle_; }
  const std::string& runtime() const { return runtime_; }

  // A blocking call of containerd.task.v2.Task/<method>; the shim's error as it sent it
  // (Unavailable once the shim is gone).
  template <typename Resp>
  absl::StatusOr<Resp> Call(const std::string& method, const google::protobuf::MessageLite& req,
                            absl::Duration timeout = absl::InfiniteDuration()) {
    Resp resp;
    absl::Status s = client_->CallSync(kTaskService, method, req, &resp, Options(timeout));
    if (!s.ok()) return s;
    return resp;
  }
  // A call whose answer arrives on the manager's loop thread (Wait).
  void CallAsync(const std::string& method, const google::protobuf::MessageLite& req,
                 std::function<void(absl::StatusOr<std::string>)> done);

 private:
  friend class TaskManager;
  ttrpc::CallOptions Options(absl::Duration timeout) const;

  const Bundle bundle_;
  const std::string runtime_;
  const std::shared_ptr<ttrpc::Client> client_;
  const ShimCommand command_;
  sys::UniqueFd log_;  // the read side of the bundle's `log` FIFO
};

struct ManagerConfig {
  std::string root;           // <root>/io.containerd.runtime.v2.task
  std::string state;          // <state>/io.containerd.runtime.v2.task
  std::string address;        // berthd's gRPC socket (passed to shims)
  std::string ttrpc_address;  // served here for the shims' events
  std::string publish_binary;  // berthd's own path
  std::string self_dir;        // where to look for shim binaries first
  // The binary that serves io.containerd.runc.v2 and .v1: our shim unless told otherwise.
  std::string runc_shim = "containerd-shim-berth-v2";
  bool debug = false;
};

struct CreateOpts {
  std::string runtime;  // the container's runtime name, or an absolute shim path
  std::optional<google::protobuf::Any> runtime_options;  // the container's
  std::optional<google::protobuf::Any> task_options;     // the request's (preferred)
  std::string spec;                                      // OCI spec JSON
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
  std::vector<containerd::types::Mount> rootfs;
  std::string checkpoint;
};

class TaskManager {
 public:
  static absl::StatusOr<std::unique_ptr<TaskManager>> Start(ManagerConfig config,
                                                            events::Exchange* exchange);
  ~TaskManager();  // closes shim connections (the shims keep running), stops the threads

  // Starts a shim and creates the task in it; returns the task and its init pid.
  // AlreadyExists "task ID: already exists" if the id has a task.
  absl::StatusOr<std::pair<std::shared_ptr<Task>, uint32_t>> Create(const std::string& ns,
                                                                    const std::string& id,
                                                                    CreateOpts opts);
  // NotFound "task ID not found".
  absl::StatusOr<std::shared_ptr<Task>> Get(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<Task>> List(const std::string& ns);
  // Deletes the task in its shim, shuts the shim down and removes the bundle.
  absl::StatusOr<containerd::task::v2::DeleteResponse> Delete(const std::string& ns,
                                                              const std::string& id);

 private:
  TaskManager(ManagerConfig config, events::Exchange* exchange)
      : config_(std::move(config)), exchange_(exchange) {}
  using Key = std::pair<std::string, std::string>;

  absl::Status Init();
  void ServeEvents();
  absl::Status LoadExisting();
  // Connects to the shim of `bundle` (running or just started) and registers the task.
  absl::StatusOr<std::shared_ptr<Task>> Connect(const Bundle& bundle, const std::string& runtime,
                                                const ShimCommand& command,
                                                const std::string& address);
  ShimCommand Command(const std::string& ns, const std::string& id,
                      const std::string& binary) const;
  std::string BinaryFor(const std::string& runtime) const;
  void OpenLog(Task& task);
  // Closes the connection and the log of a task that left the table.
  void Release(Task& task);
  // The end of a task whose shim is alive: asks the shim to shut down, releases the task and
  // removes its bundle (a failure to remove is logged).
  void ShutdownAndRemove(Task& task);
  // Called on the loop thread when a shim's connection closes.
  void OnShimClosed(const std::shared_ptr<Task>& task);
  // The dead-shim cleanup (worker thread): `delete` action, events, bundle removal.
  void CleanupDeadShim(const Bundle& bundle, const ShimCommand& command, bool publish);
  void Enqueue(std::function<void()> job);
  void Work();
  void PublishExit(const std::string& ns, const std::string& id, uint32_t pid,
                   uint32_t exit_status, const google::protobuf::Timestamp& exited_at);

  const ManagerConfig config_;
  events::Exchange* const exchange_;
  std::unique_ptr<sys::EventLoop> loop_;
  std::thread loop_thread_;
  std::unique_ptr<ttrpc::Server> events_server_;  // lives on the loop

  absl::Mutex mu_;
  // nullptr while the task is being created (reserves the id).
  std::map<Key, std::shared_ptr<Task>> tasks_ ABSL_GUARDED_BY(mu_);

  std::mutex work_mu_;
  std::condition_variable work_cv_;
  std::deque<std::function<void()>> work_;  // guarded by work_mu_
  bool stopping_ = false;                   // guarded by work_mu_
  std::thread worker_;
};

}  // namespace berth::runtime
