// The cgroup side of a task, as the shim sees it: metrics for the shim v2 `Stats` RPC and OOM
// notifications for `/tasks/oom` events.
//
// The shim does not create or configure cgroups (the OCI runtime does); it only finds the cgroup a
// process is in and reads it, the way containerd's runc shim does with its cgroups library:
//  - cgroup v1 (also "hybrid" hosts with a cgroup2 mount at /sys/fs/cgroup/unified): one directory
//    per controller, found from /proc/PID/cgroup and the cgroup mounts in /proc/self/mountinfo;
//    metrics are io.containerd.cgroups.v1.Metrics, OOMs come through an eventfd registered on
//    memory.oom_control via cgroup.event_control.
//  - unified (cgroup2 mounted at /sys/fs/cgroup): one directory from the "0::" line; metrics are
//    io.containerd.cgroups.v2.Metrics, OOMs are increments of memory.events' oom_kill counter,
//    watched with inotify.
// Field names and the files they come from follow containerd's cgroups library, so that
// `ctr task metrics` prints the same thing for berth and for containerd.
//
// Thread-safety: the free functions are pure functions over the file system and safe from any
// thread. An OomWatcher lives on its EventLoop's thread: create, use and destroy it there.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"
#include "google/protobuf/any.pb.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace berth::shim {

enum class CgroupMode { kV1, kUnified };

// kUnified when /sys/fs/cgroup is a cgroup2 file system (statfs magic), kV1 otherwise (legacy and
// hybrid hosts alike). Decided once per process, like containerd's cgroups.Mode().
CgroupMode DetectCgroupMode();

// The type URLs of the Any that CgroupMetrics returns (bare names, as containerd's typeurl
// registers them).
inline constexpr absl::string_view kV1MetricsTypeUrl = "io.containerd.cgroups.v1.Metrics";
inline constexpr absl::string_view kV2MetricsTypeUrl = "io.containerd.cgroups.v2.Metrics";

// Metrics of the cgroup that process `pid` is in, as containerd's shim reports them: an Any of
// io.containerd.cgroups.v1.Metrics (v1 hosts) or io.containerd.cgroups.v2.Metrics (unified).
// Errors: NotFound if the process or its cgroup is gone; a file that exists but does not parse
// is an error (InvalidArgument) rather than a silent zero.
absl::StatusOr<google::protobuf::Any> CgroupMetrics(int pid);
// The same for a membership read earlier (ReadProcessCgroup): still answers once the process has
// exited, as long as its cgroup exists (containerd's shim keeps the cgroup it loaded at create).
struct ProcCgroup;
absl::StatusOr<google::protobuf::Any> CgroupMetrics(const ProcCgroup& cgroup);

// Watches the memory cgroup of a process for OOM kills and calls `on_oom` on the loop once per
// OOM notification from the kernel (several kills the kernel reports together give one call, as
// in containerd). Watching ends when the watcher is destroyed or when the cgroup is removed.
// `on_oom` may destroy the watcher.
class OomWatcher {
 public:
  // Watches the cgroup `pid` is in now. NotFound if the process or its cgroup is gone;
  // Unimplemented if the host (or the cgroup) has no memory controller.
  static absl::StatusOr<std::unique_ptr<OomWatcher>> Start(sys::EventLoop* loop, int pid,
                                                           std::function<void()> on_oom);
  // Watches the cgroup of a membership read earlier (ReadProcessCgroup).
  static absl::StatusOr<std::unique_ptr<OomWatcher>> Start(sys::EventLoop* loop,
                                                           const ProcCgroup& cgroup,
                                                           std::function<void()> on_oom);
  // Watches the cgroup directory `dir`: for kV1 the memory controller's directory of the cgroup
  // (holding memory.oom_control), for kUnified the cgroup's directory (holding memory.events).
  // Same errors as Start.
  static absl::StatusOr<std::unique_ptr<OomWatcher>> StartAt(sys::EventLoop* loop, CgroupMode mode,
                                                             const std::string& dir,
                                                             std::function<void()> on_oom);

  // Stops watching and closes the watcher's descriptors.
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  // Delivers, synchronously, an OOM the kernel has already recorded but the loop has not
  // dispatched yet. The kernel records the OOM before the killed process exits, but the loop may
  // see the exit first: call this before reporting the exit of a watched process so that the OOM
  // event comes first, as containerd's does in practice. May call on_oom (which may destroy the
  // watcher).
  void Flush();

  // False once watching ended because the cgroup was removed.
  bool watching() const { return watching_; }

 private:
  OomWatcher(sys::EventLoop* loop, CgroupMode mode, std::string dir, sys::UniqueFd fd,
             std::function<void()> on_oom);
  void OnReadable();
  // Stops watching for good (the cgroup is gone); the fd is closed by the destructor.
  void Stop();

  sys::EventLoop* loop_;
  CgroupMode mode_;
  std::string dir_;
  sys::UniqueFd fd_;  // v1: the eventfd; unified: the inotify instance
  std::function<void()> on_oom_;
  bool watching_ = false;
  uint64_t last_oom_kill_ = 0;  // unified: the oom_kill count already reported
};

// ---- Building blocks, exposed for tests (fixture trees) and for callers that already know the
// cgroup's directories. ----

// A process's cgroup membership, parsed from /proc/PID/cgroup: v1 controller -> path (a line
// "4:cpu,cpuacct:/a" gives both "cpu" and "cpuacct"; named hierarchies keep their "name=x" key)
// and the path of the "0::" (cgroup2) line if there is one. InvalidArgument on a malformed line.
struct ProcCgroup {
  std::map<std::string, std::string> controllers;
  std::optional<std::string> unified;
};
absl::StatusOr<ProcCgroup> ParseProcCgroup(absl::string_view content);
// /proc/PID/cgroup, read and parsed. NotFound if the process is gone.
absl::StatusOr<ProcCgroup> ReadProcessCgroup(int pid);

// Where a v1 cgroup's controllers live: controller name -> directory of this cgroup, computed
// from its membership and /proc/self/mountinfo (`mountinfo` is that file's content): the mount
// point of the v1 cgroup mount carrying the controller, joined with the cgroup path relative to
// the mount's root. Controllers without a mount are left out.
std::map<std::string, std::string> V1ControllerDirs(const ProcCgroup& cgroup,
                                                    absl::string_view mountinfo);

// Inputs of ReadV1Metrics. Controllers missing from `dirs` (or whose directory is gone) are left
// out of the metrics, like containerd does for controllers it cannot load.
struct V1Sources {
  std::map<std::string, std::string> dirs;           // "memory" -> /sys/fs/cgroup/memory/x, ...
  std::string proc_partitions = "/proc/partitions";  // device names for blkio entries
  std::string hugepages_dir = "/sys/kernel/mm/hugepages";  // page sizes for hugetlb
};
// Reads io.containerd.cgroups.v1.Metrics from pids, cpu, cpuacct, memory, blkio and hugetlb.
// Within a controller a missing file leaves its fields zero; a file that does not parse fails the
// call (InvalidArgument). NotFound if none of the controllers' directories exists.
absl::StatusOr<io::containerd::cgroups::v1::Metrics> ReadV1Metrics(const V1Sources& sources);

// Reads io.containerd.cgroups.v2.Metrics from the cgroup2 directory `dir`. Missing files leave
// their fields zero; NotFound if `dir` is not a cgroup (no cgroup.controllers).
absl::StatusOr<io::containerd::cgroups::v2::Metrics> ReadV2Metrics(const std::string& dir);

}  // namespace berth::shim
