#include "shim/container.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/log.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "shim/bundle.h"
#include "shim/cgroups.h"
#include "shim/child.h"
#include "shim/console.h"
#include "shim/io.h"
#include "sys/file.h"
#include "sys/mount.h"
#include "sys/unique_fd.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kDrainTimeout = absl::Seconds(2);
constexpr absl::string_view kCheckpointOptionsTypeUrl = "containerd.runc.v1.CheckpointOptions";

RuncConfig MakeRuncConfig(const containerd::runc::v1::Options& opts, const std::string& bundle,
                          const std::string& address, const std::string& ns) {
  RuncConfig config;
  config.binary = opts.binary_name().empty() ? "runc" : opts.binary_name();
  config.root = JoinPath(opts.root().empty() ? DefaultRuntimeRoot(address) : opts.root(), ns);
  config.log_path = JoinPath(bundle, "log.json");
  config.systemd_cgroup = opts.systemd_cgroup();
  config.criu_path = opts.criu_path();
  return config;
}

std::string FormatMount(const containerd::types::Mount& m) {
  return absl::StrCat("{Type:", m.type(), " Source:", m.source(), " Options:[",
                      absl::StrJoin(m.options(), " "), "]}");
}

// Exec ids name files in the bundle (<id>.pid): keep them inside it.
absl::Status ValidateExecId(const std::string& id) {
  if (id.empty()) return ErrInvalidArgument("exec id must not be empty");
  if (id == "." || id == ".." || id.find('/') != std::string::npos) {
    return ErrInvalidArgument(absl::StrCat("exec id \"", id, "\" is not a valid identifier"));
  }
  return absl::OkStatus();
}

// What `runc create` / `runc exec` leave behind: the pty master it sent over the console socket
// (when there is one) and the process's pid from its pid file.
struct Started {
  sys::UniqueFd master;
  int pid = 0;
};
absl::StatusOr<Started> CollectStarted(ConsoleSocket* console, const std::string& pid_file,
                                       absl::string_view what) {
  Started out;
  if (console != nullptr) {
    auto received = console->ReceiveMaster();
    if (!received.ok()) return Annotate(received.status(), "failed to retrieve console master");
    out.master = *std::move(received);
  }
  auto pid = ReadPidFile(pid_file);
  if (!pid.ok()) {
    return Annotate(pid.status(), absl::StrCat("failed to retrieve OCI runtime ", what, " pid"));
  }
  out.pid = *pid;
  return out;
}

}  // namespace

Container::Container(Env env, std::string id, std::string bundle,
                     containerd::runc::v1::Options options)
    : env_(std::move(env)),
      id_(std::move(id)),
      bundle_(std::move(bundle)),
      options_(std::move(options)),
      runc_(MakeRuncConfig(options_, bundle_, env_.address, env_.ns)),
      self_(std::make_shared<Container*>(this)) {}

Container::~Container() {
  *self_ = nullptr;
  if (init_ && init_->pid() > 0) env_.reaper->Unwatch(init_->pid());
  for (auto& [id, p] : execs_) {
    if (p->pid() > 0) env_.reaper->Unwatch(p->pid());
  }
}

absl::Status Container::RuntimeError(const absl::Status& status, absl::string_view what) const {
  if (status.ok()) return status;
  return absl::Status(status.code() == absl::StatusCode::kDeadlineExceeded
                          ? status.code()
                          : absl::StatusCode::kUnknown,
                      absl::StrCat(what, ": ", status.message()));
}

absl::StatusOr<std::unique_ptr<Container>> Container::Create(
    Env env, const containerd::task::v2::CreateTaskRequest& request) {
  if (request.id().empty()) return ErrInvalidArgument("container id must not be empty");
  if (request.bundle().empty()) return ErrInvalidArgument("bundle must not be empty");
  ASSIGN_OR_RETURN(containerd::runc::v1::Options options, ParseOptions(request.options()));
  std::unique_ptr<Container> c(
      new Container(std::move(env), request.id(), request.bundle(), std::move(options)));
  RETURN_IF_ERROR(c->CreateInit(request));
  return c;
}

absl::Status Container::CreateInit(const containerd::task::v2::CreateTaskRequest& request) {
  if (!request.checkpoint().empty()) {
    // Restoring needs criu; containerd's shim would run `runtime restore` at Start.
    if (!LookPath(options_.criu_path().empty() ? "criu" : options_.criu_path()).ok()) {
      return ErrFailedPrecondition(
          "cannot restore a checkpoint: criu is not installed (install the criu package)");
    }
    return ErrNotImplemented("restoring a task from a checkpoint");
  }
  if (request.rootfs_size() > 0) {
    rootfs_ = JoinPath(bundle_, "rootfs");
    if (::mkdir(rootfs_.c_str(), 0711) != 0 && errno != EEXIST) {
      return ErrnoError(errno, absl::StrCat("mkdir ", rootfs_));
    }
  }
  RETURN_IF_ERROR(WriteOptions(bundle_, options_));

  // From here on, failures undo what was done: the mounts, and a created runtime container.
  bool created = false;
  bool ok = false;
  struct Undo {
    Container* c;
    bool* created;
    bool* ok;
    ~Undo() {
      if (*ok) return;
      if (*created) (void)c->runc_.Delete(c->id_, /*force=*/true);
      if (!c->rootfs_.empty()) {
        absl::Status st = sys::UnmountAll(c->rootfs_);
        if (!st.ok()) log::Warn("failed to cleanup rootfs mount", {{"error", st.ToString()}});
      }
    }
  } undo{this, &created, &ok};

  for (const containerd::types::Mount& m : request.rootfs()) {
    sys::Mount mount{m.type(), m.source(), {m.options().begin(), m.options().end()}};
    absl::Status st = sys::MountAt(mount, rootfs_);
    if (!st.ok()) {
      return Annotate(st, absl::StrCat("failed to mount rootfs component ", FormatMount(m)));
    }
  }

  Stdio stdio{request.stdin(), request.stdout(), request.stderr(), request.terminal()};
  init_ = std::make_unique<Process>(Kind::kInit, id_, stdio);
  auto io = ProcessIo::Create(env_.loop, env_.reaper,
                              {stdio, id_, env_.ns, options_.io_uid(), options_.io_gid()});
  if (!io.ok()) return Annotate(io.status(), "failed to create init process I/O");
  init_->set_io(*std::move(io));
  std::unique_ptr<ConsoleSocket> console;
  if (stdio.terminal) {
    auto socket = ConsoleSocket::Create();
    if (!socket.ok()) {
      return Annotate(socket.status(), "failed to create OCI runtime console socket");
    }
    console = *std::move(socket);
  }

  ProcessIo* pio = init_->io();
  std::string pid_file = JoinPath(bundle_, "init.pid");
  absl::Status st =
      runc_.Create(id_, bundle_, pid_file, console ? console->path() : "", options_.no_pivot_root(),
                   options_.no_new_keyring(),
                   {pio->runtime_stdin(), pio->runtime_stdout(), pio->runtime_stderr()});
  if (!st.ok()) return RuntimeError(st, "OCI runtime create failed");
  created = true;
  auto started = CollectStarted(console.get(), pid_file, "container");
  if (!started.ok()) return started.status();
  sys::UniqueFd master = std::move(started->master);
  init_->set_pid(started->pid);
  WatchExit(init_.get());

  std::weak_ptr<Container*> weak = self_;
  absl::StatusOr<ProcCgroup> cgroup = ReadProcessCgroup(started->pid);
  if (cgroup.ok()) cgroup_ = *std::move(cgroup);
  absl::StatusOr<std::unique_ptr<OomWatcher>> oom =
      cgroup_ ? OomWatcher::Start(env_.loop, *cgroup_,
                                  [weak]() {
                                    auto self = weak.lock();
                                    if (self && *self && (*self)->env_.on_oom) {
                                      (*self)->env_.on_oom(*self);
                                    }
                                  })
              : absl::StatusOr<std::unique_ptr<OomWatcher>>(cgroup.status());
  if (oom.ok()) {
    oom_ = *std::move(oom);
  } else {
    log::Warn("OOM events unavailable", {{"id", id_}, {"error", oom.status().ToString()}});
  }
  // The client's stdin FIFO is opened last: a client like ctr only learns that it must call
  // CloseIO once Create has answered, so EOF on its stdin must not reach the shim much earlier.
  if (master.valid()) {
    RETURN_IF_ERROR(
        Annotate(pio->AttachConsole(std::move(master)), "failed to start console copy"));
  }
  RETURN_IF_ERROR(Annotate(pio->Start(), "failed to start io pipe copy"));
  ok = true;
  return absl::OkStatus();
}

absl::StatusOr<Process*> Container::GetProcess(const std::string& exec_id) const {
  if (exec_id.empty()) return init_.get();
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return ErrNotFound(absl::StrCat("process does not exist ", exec_id));
  return it->second.get();
}

std::vector<Process*> Container::ExecProcesses() const {
  std::vector<Process*> out;
  for (const auto& [id, p] : execs_) out.push_back(p.get());
  return out;
}

void Container::WatchExit(Process* process) {
  std::weak_ptr<Container*> weak = self_;
  std::string exec_id = process->kind() == Kind::kExec ? process->id() : "";
  env_.reaper->Watch(process->pid(), [weak, exec_id](int status, absl::Time when) {
    auto self = weak.lock();
    if (!self || !*self) return;
    auto p = (*self)->GetProcess(exec_id);
    if (p.ok()) (*self)->OnExit(*p, status, when);
  });
}

void Container::OnExit(Process* process, int wait_status, absl::Time when) {
  if (process->kind() == Kind::kInit) {
    if (ShouldKillAllOnExit(bundle_)) {
      // Without a pid namespace of its own nothing kills the init's children: do it.
      absl::Status st = runc_.Kill(id_, SIGKILL, /*all=*/true);
      if (!st.ok()) log::Debug("failed to kill init's children", {{"error", st.ToString()}});
    }
    // An OOM kill is recorded before the exit: report it first.
    if (oom_) oom_->Flush();
  }
  bool was_paused = process->state() == State::kPaused;
  if (!process->SetExited(ExitStatusFromWait(wait_status), when)) return;
  if (was_paused) {
    absl::Status st = runc_.Resume(id_);
    if (!st.ok())
      log::Warn("resuming exited container from paused state", {{"error", st.ToString()}});
  }
  if (process->io() != nullptr) process->io()->ShutdownConsole();
  if (env_.on_exit) env_.on_exit(this, process);
}

absl::StatusOr<Process*> Container::Start(const std::string& exec_id) {
  ASSIGN_OR_RETURN(Process * p, GetProcess(exec_id));
  ASSIGN_OR_RETURN(State next, p->Check(Op::kStart));
  if (p->kind() == Kind::kInit) {
    RETURN_IF_ERROR(RuntimeError(runc_.Start(id_, p->pid()), "OCI runtime start failed"));
  } else {
    RETURN_IF_ERROR(StartExec(p));
  }
  // The process may have exited meanwhile (the reaper runs between loop callbacks, never
  // inside this one, but keep the machine honest).
  if (p->state() == State::kCreated) p->Commit(next);
  return p;
}

absl::Status Container::StartExec(Process* p) {
  const Stdio& stdio = p->stdio();
  auto io = ProcessIo::Create(env_.loop, env_.reaper,
                              {stdio, p->id(), env_.ns, options_.io_uid(), options_.io_gid()});
  if (!io.ok()) return Annotate(io.status(), "failed to create init process I/O");
  p->set_io(*std::move(io));
  std::unique_ptr<ConsoleSocket> console;
  if (stdio.terminal) {
    auto socket = ConsoleSocket::Create();
    if (!socket.ok()) return Annotate(socket.status(), "failed to create runc console socket");
    console = *std::move(socket);
  }
  // The process spec goes to the runtime in a file; invocations are sequential, one name does.
  std::string process_file = JoinPath(bundle_, ".exec-process.json");
  RETURN_IF_ERROR(sys::WriteFile(process_file, p->spec_json(), 0600));
  std::string pid_file = JoinPath(bundle_, absl::StrCat(p->id(), ".pid"));
  ProcessIo* pio = p->io();
  absl::Status st =
      runc_.Exec(id_, process_file, pid_file, console ? console->path() : "",
                 {pio->runtime_stdin(), pio->runtime_stdout(), pio->runtime_stderr()});
  ::unlink(process_file.c_str());
  if (!st.ok()) return RuntimeError(st, "OCI runtime exec failed");
  auto started = CollectStarted(console.get(), pid_file, "exec");
  if (!started.ok()) return started.status();
  sys::UniqueFd master = std::move(started->master);
  p->set_pid(started->pid);
  WatchExit(p);
  // Stdin last, as for the init (see CreateInit).
  if (master.valid()) {
    RETURN_IF_ERROR(
        Annotate(pio->AttachConsole(std::move(master)), "failed to start console copy"));
  }
  return Annotate(pio->Start(), "failed to start io pipe copy");
}

absl::StatusOr<Process*> Container::Exec(const containerd::task::v2::ExecProcessRequest& request) {
  RETURN_IF_ERROR(ValidateExecId(request.exec_id()));
  if (execs_.count(request.exec_id()) > 0) {
    return ErrAlreadyExists(absl::StrCat("id ", request.exec_id()));
  }
  RETURN_IF_ERROR(init_->Check(Op::kExec).status());
  nlohmann::json spec = nlohmann::json::parse(request.spec().value(), nullptr, false);
  if (spec.is_discarded() || !spec.is_object()) {
    return ErrInvalidArgument("exec spec is not an OCI process (JSON object)");
  }
  spec["terminal"] = request.terminal();
  auto p = std::make_unique<Process>(
      Kind::kExec, request.exec_id(),
      Stdio{request.stdin(), request.stdout(), request.stderr(), request.terminal()});
  p->set_spec_json(spec.dump());
  Process* raw = p.get();
  execs_[request.exec_id()] = std::move(p);
  return raw;
}

absl::Status Container::Kill(const std::string& exec_id, uint32_t signal, bool all) {
  ASSIGN_OR_RETURN(Process * p, GetProcess(exec_id));
  RETURN_IF_ERROR(p->Check(Op::kKill).status());
  if (p->kind() == Kind::kInit) return KillError(runc_.Kill(id_, static_cast<int>(signal), all));
  if (::kill(p->pid(), static_cast<int>(signal)) != 0) {
    if (errno == ESRCH) return ErrNotFound("exec kill error: process already finished");
    return absl::UnknownError(
        absl::StrCat("exec kill error: unknown error after kill: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

void Container::Delete(const std::string& exec_id,
                       std::function<void(absl::StatusOr<Process*>)> done) {
  auto p = GetProcess(exec_id);
  if (!p.ok()) return done(p.status());
  if (auto next = (*p)->Check(Op::kDelete); !next.ok()) return done(next.status());
  std::weak_ptr<Container*> weak = self_;
  auto finish = [weak, exec_id, done = std::move(done)]() {
    auto self = weak.lock();
    if (!self || !*self) return done(absl::UnavailableError("shim is shutting down"));
    (*self)->FinishDelete(exec_id, done);
  };
  if ((*p)->io() == nullptr) return env_.loop->Post(std::move(finish));
  (*p)->io()->WhenDrained(kDrainTimeout, std::move(finish));
}

void Container::FinishDelete(const std::string& exec_id,
                             const std::function<void(absl::StatusOr<Process*>)>& done) {
  // Look again: the process may have been deleted while its output drained.
  auto p = GetProcess(exec_id);
  if (!p.ok()) return done(p.status());
  Process* process = *p;
  auto next = process->Check(Op::kDelete);
  if (!next.ok()) return done(next.status());
  absl::Status result;
  if (process->kind() == Kind::kInit) {
    absl::Status st =
        runc_.Delete(id_, /*force=*/false, /*init_exited=*/process->state() == State::kStopped);
    // The runtime may have forgotten the container already (after a checkpoint, or by hand).
    if (!st.ok() && !absl::StrContains(st.message(), "does not exist") &&
        !absl::StrContains(st.message(), "not exist")) {
      result = RuntimeError(st, "failed to delete task");
    }
    process->set_io(nullptr);
    if (!rootfs_.empty()) {
      // Detached now, released when the shim exits (see Env::detached_mounts).
      absl::Status um = env_.detached_mounts != nullptr
                            ? sys::DetachAll(rootfs_, env_.detached_mounts)
                            : sys::UnmountAll(rootfs_);
      if (!um.ok()) {
        log::Warn("failed to cleanup rootfs mount", {{"error", um.ToString()}});
        if (result.ok()) result = Annotate(um, "failed rootfs umount");
      }
    }
    if (!result.ok()) return done(result);
    oom_.reset();
    process->Commit(*next);
    if (process->pid() > 0) env_.reaper->Unwatch(process->pid());
    return done(process);
  }
  process->set_io(nullptr);
  ::unlink(JoinPath(bundle_, absl::StrCat(process->id(), ".pid")).c_str());
  process->Commit(*next);
  if (process->pid() > 0) env_.reaper->Unwatch(process->pid());
  std::unique_ptr<Process> owned = std::move(execs_[exec_id]);
  execs_.erase(exec_id);
  done(owned.get());
}

absl::Status Container::Pause() {
  ASSIGN_OR_RETURN(State next, init_->Check(Op::kPause));
  RETURN_IF_ERROR(RuntimeError(runc_.Pause(id_), "OCI runtime pause failed"));
  init_->Commit(next);
  return absl::OkStatus();
}

absl::Status Container::Resume() {
  ASSIGN_OR_RETURN(State next, init_->Check(Op::kResume));
  RETURN_IF_ERROR(RuntimeError(runc_.Resume(id_), "OCI runtime resume failed"));
  init_->Commit(next);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int>> Container::Pids() {
  auto pids = runc_.Ps(id_);
  if (!pids.ok()) return RuntimeError(pids.status(), "failed to list pids");
  return pids;
}

absl::Status Container::Update(const google::protobuf::Any& resources) {
  RETURN_IF_ERROR(init_->Check(Op::kUpdate).status());
  nlohmann::json j = nlohmann::json::parse(resources.value(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return ErrInvalidArgument("resources are not an OCI LinuxResources (JSON object)");
  }
  return RuntimeError(runc_.Update(id_, j.dump()), "OCI runtime update failed");
}

absl::Status Container::Checkpoint(const containerd::task::v2::CheckpointTaskRequest& request) {
  RETURN_IF_ERROR(init_->Check(Op::kCheckpoint).status());
  if (!LookPath(options_.criu_path().empty() ? "criu" : options_.criu_path()).ok()) {
    return ErrFailedPrecondition(
        "cannot checkpoint: criu is not installed (install the criu package)");
  }
  containerd::runc::v1::CheckpointOptions opts;
  if (!request.options().type_url().empty()) {
    absl::string_view type = request.options().type_url();
    if (size_t slash = type.rfind('/'); slash != absl::string_view::npos) {
      type.remove_prefix(slash + 1);
    }
    if (type != kCheckpointOptionsTypeUrl || !opts.ParseFromString(request.options().value())) {
      return ErrInvalidArgument(absl::StrCat("unsupported checkpoint options type \"",
                                             request.options().type_url(), "\""));
    }
  }
  CheckpointConfig config;
  config.image_path = request.path().empty() ? opts.image_path() : request.path();
  config.work_path = opts.work_path().empty() ? JoinPath(bundle_, "criu-work") : opts.work_path();
  config.leave_running = !opts.exit();
  config.open_tcp = opts.open_tcp();
  config.external_unix_sockets = opts.external_unix_sockets();
  config.terminal = opts.terminal();
  config.file_locks = opts.file_locks();
  config.empty_namespaces.assign(opts.empty_namespaces().begin(), opts.empty_namespaces().end());
  absl::Status st = runc_.Checkpoint(id_, config);
  if (opts.work_path().empty()) (void)sys::RemoveAll(config.work_path);
  if (!st.ok()) {
    std::string first_line(st.message().substr(0, st.message().find('\n')));
    return absl::UnknownError(
        absl::StrCat(first_line, " path= ", JoinPath(bundle_, "criu-dump.log")));
  }
  return absl::OkStatus();
}

absl::Status Container::ResizePty(const std::string& exec_id, uint32_t width, uint32_t height) {
  ASSIGN_OR_RETURN(Process * p, GetProcess(exec_id));
  RETURN_IF_ERROR(p->Check(Op::kResize).status());
  if (p->io() == nullptr) return absl::OkStatus();
  return p->io()->Resize(width, height);
}

absl::Status Container::CloseIo(const std::string& exec_id) {
  ASSIGN_OR_RETURN(Process * p, GetProcess(exec_id));
  if (p->io() != nullptr) p->io()->CloseStdin();
  return absl::OkStatus();
}

absl::StatusOr<google::protobuf::Any> Container::Stats() const {
  if (!cgroup_) return ErrNotFound("cgroup does not exist");
  return CgroupMetrics(*cgroup_);
}

}  // namespace berth::shim
