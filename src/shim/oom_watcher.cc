#include "shim/cgroups.h"
#include "shim/cgroup_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"

namespace berth::shim {
using namespace cgroup_files;  // NOLINT: the shared cgroup file helpers

// ---- OomWatcher ----

namespace {

// The oom_kill counter of a cgroup2 directory's memory.events; NotFound once the cgroup is gone.
absl::StatusOr<uint64_t> ReadOomKills(const std::string& dir) {
  std::string path = Join(dir, "memory.events");
  ASSIGN_OR_RETURN(std::string content, sys::ReadFile(path));
  ASSIGN_OR_RETURN(auto events, ParseKeyed(content, path, /*strict=*/false));
  return Get(events, "oom_kill");
}

// NotFound when `dir` itself is gone, Unimplemented when only the memory file `file` is missing.
absl::Status MissingMemoryFile(const std::string& dir, absl::string_view file) {
  if (!Exists(dir)) return ErrNotFound(absl::StrCat("cgroup ", dir));
  return ErrNotImplemented(absl::StrCat("memory controller: ", Join(dir, file), " missing"));
}

}  // namespace

absl::StatusOr<std::unique_ptr<OomWatcher>> OomWatcher::Start(sys::EventLoop* loop, int pid,
                                                              std::function<void()> on_oom) {
  ASSIGN_OR_RETURN(ProcCgroup cgroup, ReadProcessCgroup(pid));
  return Start(loop, cgroup, std::move(on_oom));
}

absl::StatusOr<std::unique_ptr<OomWatcher>> OomWatcher::Start(sys::EventLoop* loop,
                                                              const ProcCgroup& cgroup,
                                                              std::function<void()> on_oom) {
  CgroupMode mode = DetectCgroupMode();
  if (mode == CgroupMode::kUnified) {
    if (!cgroup.unified) return ErrNotImplemented("the process is in no cgroup2");
    return StartAt(loop, mode, absl::StrCat(kUnifiedRoot, *cgroup.unified), std::move(on_oom));
  }
  if (cgroup.controllers.count("memory") == 0) {
    return ErrNotImplemented("memory cgroup controller");
  }
  ASSIGN_OR_RETURN(std::string mountinfo, sys::ReadFile("/proc/self/mountinfo"));
  std::map<std::string, std::string> dirs = V1ControllerDirs(cgroup, mountinfo);
  auto it = dirs.find("memory");
  if (it == dirs.end()) return ErrNotImplemented("memory cgroup controller is not mounted");
  return StartAt(loop, mode, it->second, std::move(on_oom));
}

absl::StatusOr<std::unique_ptr<OomWatcher>> OomWatcher::StartAt(sys::EventLoop* loop,
                                                                CgroupMode mode,
                                                                const std::string& dir,
                                                                std::function<void()> on_oom) {
  sys::UniqueFd fd;
  uint64_t oom_kills = 0;
  if (mode == CgroupMode::kV1) {
    // The v1 memory controller signals an eventfd registered for memory.oom_control each time the
    // cgroup hits OOM (and once more when the cgroup is removed). The registration holds its own
    // reference: memory.oom_control may be closed right after.
    fd = sys::UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd.valid()) return ErrnoError(errno, "eventfd");
    std::string control_path = Join(dir, "memory.oom_control");
    absl::StatusOr<sys::UniqueFd> control = sys::Open(control_path, O_RDONLY | O_CLOEXEC);
    if (!control.ok()) {
      if (absl::IsNotFound(control.status())) return MissingMemoryFile(dir, "memory.oom_control");
      return control.status();
    }
    std::string event_control = Join(dir, "cgroup.event_control");
    ASSIGN_OR_RETURN(sys::UniqueFd ec, sys::Open(event_control, O_WRONLY | O_CLOEXEC));
    RETURN_IF_ERROR(
        sys::WriteAll(ec.get(), absl::StrCat(fd.get(), " ", control->get()), event_control));
  } else {
    // cgroup2 has no OOM notification of its own: memory.events is modified (IN_MODIFY) whenever
    // one of its counters changes; compare oom_kill with the last value seen.
    fd = sys::UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (!fd.valid()) return ErrnoError(errno, "inotify_init1");
    std::string events_path = Join(dir, "memory.events");
    if (::inotify_add_watch(fd.get(), events_path.c_str(), IN_MODIFY) < 0) {
      if (errno == ENOENT) return MissingMemoryFile(dir, "memory.events");
      return ErrnoError(errno, absl::StrCat("inotify_add_watch ", events_path));
    }
    // Kills before the watch started are not this watcher's to report.
    absl::StatusOr<uint64_t> kills = ReadOomKills(dir);
    if (!kills.ok()) {
      if (absl::IsNotFound(kills.status())) return MissingMemoryFile(dir, "memory.events");
      return kills.status();
    }
    oom_kills = *kills;
  }
  std::unique_ptr<OomWatcher> w(new OomWatcher(loop, mode, dir, std::move(fd), std::move(on_oom)));
  w->last_oom_kill_ = oom_kills;
  OomWatcher* raw = w.get();
  RETURN_IF_ERROR(loop->Add(raw->fd_.get(), EPOLLIN, [raw](uint32_t) { raw->OnReadable(); }));
  raw->watching_ = true;
  return w;
}

OomWatcher::OomWatcher(sys::EventLoop* loop, CgroupMode mode, std::string dir, sys::UniqueFd fd,
                       std::function<void()> on_oom)
    : loop_(loop),
      mode_(mode),
      dir_(std::move(dir)),
      fd_(std::move(fd)),
      on_oom_(std::move(on_oom)) {}

OomWatcher::~OomWatcher() {
  // Closing the v1 eventfd is enough for the kernel to drop the registration; an inotify
  // instance drops its watches when closed.
  if (watching_) loop_->Remove(fd_.get());
}

void OomWatcher::Stop() {
  if (!watching_) return;
  loop_->Remove(fd_.get());
  watching_ = false;
}

void OomWatcher::Flush() {
  if (watching_) OnReadable();
}

void OomWatcher::OnReadable() {
  bool oom = false;
  bool gone = false;
  if (mode_ == CgroupMode::kV1) {
    uint64_t count = 0;
    ssize_t n = ::read(fd_.get(), &count, sizeof(count));
    if (n != static_cast<ssize_t>(sizeof(count))) return;  // EAGAIN: nothing recorded
    // The kernel also signals the eventfd when the cgroup is removed (its directory is gone by
    // then): that is the end of watching, not an OOM.
    if (!Exists(Join(dir_, "memory.oom_control"))) {
      gone = true;
    } else {
      oom = true;
    }
  } else {
    alignas(struct inotify_event) char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd_.get(), buf, sizeof(buf));
      if (n <= 0) break;  // EAGAIN: drained
      for (char* p = buf; p < buf + n;) {
        auto* ev = reinterpret_cast<struct inotify_event*>(p);
        if (ev->mask & IN_IGNORED) gone = true;  // the file (so the cgroup) was removed
        p += sizeof(struct inotify_event) + ev->len;
      }
    }
    absl::StatusOr<uint64_t> kills = ReadOomKills(dir_);
    if (!kills.ok()) {
      gone = true;
    } else if (*kills > last_oom_kill_) {
      last_oom_kill_ = *kills;
      oom = true;
    }
  }
  if (gone) {
    log::Debug("cgroup removed; no longer watching for OOM", {{"cgroup", dir_}});
    Stop();
  }
  if (oom) {
    // on_oom may destroy this watcher (and with it on_oom_): call a copy, touch nothing after.
    std::function<void()> fn = on_oom_;
    fn();
  }
}

}  // namespace berth::shim
