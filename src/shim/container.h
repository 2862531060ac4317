// One container in the shim: its init process and exec'd processes, the OCI runtime that runs
// them, its rootfs mount and its OOM watcher -- containerd's runc.Container plus pkg/process's
// Init and execProcess, with their state machine in process.h.
//
// Every method runs the OCI runtime synchronously when it needs to (Create, Start, Kill, Pause,
// ...). Deleting waits (asynchronously) for the process's output to drain first, up to 2 s.
// Exits arrive from the Reaper; the container records them (killing the rest of the container
// first when its init dies without a pid namespace of its own) and reports them through
// Env::on_exit. Events are the TaskService's business, not the container's.
//
// Thread-safety: loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/any.pb.h"
#include "shim/cgroups.h"
#include "shim/process.h"
#include "shim/reaper.h"
#include "shim/runc.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace berth::shim {

class Container {
 public:
  struct Env {
    sys::EventLoop* loop = nullptr;
    Reaper* reaper = nullptr;
    std::string ns;
    std::string address;  // the daemon's socket: the default runtime root is beside it
    // A process exited (its state is stopped, exit status and time recorded).
    std::function<void(Container*, Process*)> on_exit;
    // The kernel OOM-killed something in the container's memory cgroup.
    std::function<void(Container*)> on_oom;
    // Where Delete puts the rootfs mounts it detaches (sys::DetachAll), for the owner to close
    // after answering: the last reference to an overlay syncs its upper file system, which
    // must not delay Delete. Null: Delete unmounts in place.
    std::vector<sys::UniqueFd>* detached_mounts = nullptr;
  };

  // Mounts the rootfs, runs `runtime create`, and starts watching the init. The init is in the
  // created state. Errors: InvalidArgument (options), the mount's error ("failed to mount rootfs
  // component ..."), Unknown "OCI runtime create failed: <runtime's message>".
  static absl::StatusOr<std::unique_ptr<Container>> Create(
      Env env, const containerd::task::v2::CreateTaskRequest& request);
  ~Container();

  const std::string& id() const { return id_; }
  const std::string& bundle() const { return bundle_; }
  Process* init() const { return init_.get(); }
  // "" -> the init; else the exec'd process or NotFound "process does not exist <id>".
  absl::StatusOr<Process*> GetProcess(const std::string& exec_id) const;
  std::vector<Process*> ExecProcesses() const;

  // Starts the init (`runtime start`) or an exec'd process (`runtime exec --detach`).
  absl::StatusOr<Process*> Start(const std::string& exec_id);
  // Registers an exec'd process (created state). AlreadyExists "id <exec>" if taken.
  absl::StatusOr<Process*> Exec(const containerd::task::v2::ExecProcessRequest& request);
  absl::Status Kill(const std::string& exec_id, uint32_t signal, bool all);
  // Deletes a stopped or never-started process once its output has drained (at most 2 s), then
  // calls `done` with it (the init: `runtime delete`, rootfs unmounted). The process stays
  // valid until `done` returns; an exec'd one is dropped right after.
  void Delete(const std::string& exec_id, std::function<void(absl::StatusOr<Process*>)> done);
  absl::Status Pause();
  absl::Status Resume();
  absl::StatusOr<std::vector<int>> Pids();
  // `resources` holds an OCI LinuxResources as JSON.
  absl::Status Update(const google::protobuf::Any& resources);
  // FailedPrecondition when criu is not installed.
  absl::Status Checkpoint(const containerd::task::v2::CheckpointTaskRequest& request);
  absl::Status ResizePty(const std::string& exec_id, uint32_t width, uint32_t height);
  absl::Status CloseIo(const std::string& exec_id);
  absl::StatusOr<google::protobuf::Any> Stats() const;

 private:
  Container(Env env, std::string id, std::string bundle, containerd::runc::v1::Options options);
  absl::Status CreateInit(const containerd::task::v2::CreateTaskRequest& request);
  absl::Status StartExec(Process* process);
  void WatchExit(Process* process);
  void OnExit(Process* process, int wait_status, absl::Time when);
  void FinishDelete(const std::string& exec_id,
                    const std::function<void(absl::StatusOr<Process*>)>& done);
  absl::Status RuntimeError(const absl::Status& status, absl::string_view what) const;

  Env env_;
  std::string id_;
  std::string bundle_;
  std::string rootfs_;  // "" when the request had no rootfs mounts
  containerd::runc::v1::Options options_;
  Runc runc_;
  std::unique_ptr<Process> init_;
  std::map<std::string, std::unique_ptr<Process>> execs_;
  std::unique_ptr<OomWatcher> oom_;
  // The init's cgroup membership, read once it is created: Stats and the OOM watcher use it, and
  // it outlives the init's exit (the cgroup itself lasts until Delete).
  std::optional<ProcCgroup> cgroup_;
  std::shared_ptr<Container*> self_;
};

}  // namespace berth::shim
