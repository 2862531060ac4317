#include "runtime/task_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "google/protobuf/empty.pb.h"
#include "sys/file.h"
#include "sys/fs.h"

namespace berth::runtime {

namespace task_v2 = containerd::task::v2;
namespace ttrpc_events = containerd::services::events::ttrpc::v1;

namespace {

constexpr char kEventsService[] = "containerd.services.events.ttrpc.v1.Events";
constexpr absl::Duration kConnectTimeout = absl::Seconds(5);   // containerd's shim load timeout
constexpr absl::Duration kShutdownTimeout = absl::Seconds(3);  // containerd's shutdown timeout
constexpr size_t kMaxLoadThreads = 16;

google::protobuf::Timestamp Now() {
  google::protobuf::Timestamp ts;
  const absl::Time now = absl::Now();
  const int64_t nanos = absl::ToUnixNanos(now);
  ts.set_seconds(nanos / 1000000000);
  ts.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  return ts;
}

}  // namespace

void Task::CallAsync(const std::string& method, const google::protobuf::MessageLite& req,
                     std::function<void(absl::StatusOr<std::string>)> done) {
  client_->Call(kTaskService, method, req.SerializeAsString(),
                Options(absl::InfiniteDuration()), std::move(done));
}

ttrpc::CallOptions Task::Options(absl::Duration timeout) const {
  ttrpc::CallOptions o;
  o.timeout = timeout;
  o.metadata.emplace(std::string(ttrpc::kNamespaceKey), ns());
  return o;
}

absl::StatusOr<std::unique_ptr<TaskManager>> TaskManager::Start(ManagerConfig config,
                                                                events::Exchange* exchange) {
  std::unique_ptr<TaskManager> m(new TaskManager(std::move(config), exchange));
  RETURN_IF_ERROR(m->Init());
  return m;
}

absl::Status TaskManager::Init() {
  RETURN_IF_ERROR(sys::MakeDirs(config_.root, 0711));
  RETURN_IF_ERROR(sys::MakeDirs(config_.state, 0711));
  ASSIGN_OR_RETURN(loop_, sys::EventLoop::Create());
  events_server_ = std::make_unique<ttrpc::Server>(loop_.get());
  ServeEvents();
  RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(config_.ttrpc_address), 0711));
  RETURN_IF_ERROR(sys::ClearStaleSocket(config_.ttrpc_address));
  ASSIGN_OR_RETURN(sys::UniqueFd listener, ttrpc::ListenUnix(config_.ttrpc_address));
  RETURN_IF_ERROR(events_server_->Serve(std::move(listener)));
  loop_thread_ = std::thread([this] {
    if (absl::Status s = loop_->Run(); !s.ok()) {
      log::Error("runtime event loop failed", {{"error", s.ToString()}});
    }
  });
  worker_ = std::thread([this] { Work(); });
  return LoadExisting();
}

// Shims forward their events here; they go out on the exchange with the shim's timestamp.
void TaskManager::ServeEvents() {
  events_server_->Handle<ttrpc_events::ForwardRequest>(
      kEventsService, "Forward",
      [this](const ttrpc_events::ForwardRequest& req, std::shared_ptr<ttrpc::Call> call) {
        events::Envelope envelope;
        *envelope.mutable_timestamp() = req.envelope().timestamp();
        envelope.set_namespace_(req.envelope().namespace_());
        envelope.set_topic(req.envelope().topic());
        *envelope.mutable_event() = req.envelope().event();
        absl::Status s = exchange_->Forward(envelope);
        if (!s.ok()) {
          log::Warn("dropping a shim's event", {{"topic", req.envelope().topic()},
                                                {"error", s.ToString()}});
          call->ReplyError(s);
          return;
        }
        call->Reply(google::protobuf::Empty());
      });
}

TaskManager::~TaskManager() {
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
  if (loop_ != nullptr) loop_->Stop();
  if (loop_thread_.joinable()) loop_thread_.join();
  absl::MutexLock lock(&mu_);
  tasks_.clear();
  events_server_.reset();
}

ShimCommand TaskManager::Command(const std::string& ns, const std::string& id,
                                 const std::string& binary) const {
  return ShimCommand{.binary = binary,
                     .ns = ns,
                     .id = id,
                     .address = config_.address,
                     .ttrpc_address = config_.ttrpc_address,
                     .publish_binary = config_.publish_binary,
                     .debug = config_.debug};
}

std::string TaskManager::BinaryFor(const std::string& runtime) const {
  // What ctr and dockerd ask for is served by our shim unless the config says otherwise.
  if (runtime == "io.containerd.runc.v2" && config_.runc_shim == "berth") {
    return "io.containerd.berth.v2";
  }
  return runtime;
}

absl::StatusOr<std::pair<std::shared_ptr<Task>, uint32_t>> TaskManager::Create(
    const std::string& ns, const std::string& id, CreateOpts opts) {
  const Key key(ns, id);
  {
    absl::MutexLock lock(&mu_);
    if (tasks_.contains(key)) return ErrAlreadyExists(absl::StrCat("task ", id));
    tasks_[key] = nullptr;  // reserved while we create it
  }
  auto unreserve = [&] {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(key);
    if (it != tasks_.end() && it->second == nullptr) tasks_.erase(it);
  };

  absl::StatusOr<std::string> binary = ResolveShimBinary(BinaryFor(opts.runtime), config_.self_dir);
  if (!binary.ok()) {
    unreserve();
    return Annotate(binary.status(), "failed to start shim: failed to resolve runtime path");
  }
  absl::StatusOr<Bundle> bundle = Bundle::Create(config_.root, config_.state, ns, id, opts.spec);
  if (!bundle.ok()) {
    unreserve();
    return bundle.status();
  }
  const ShimCommand command = Command(ns, id, *binary);

  // Starts the shim and connects to it.
  absl::StatusOr<std::shared_ptr<Task>> started = [&]() -> absl::StatusOr<std::shared_ptr<Task>> {
    RETURN_IF_ERROR(sys::WriteFile(bundle->File("shim-binary-path"), *binary, 0600));
    // The shim writes its log into this FIFO; containerd's own shims refuse to start without it.
    if (::mkfifo(bundle->File("log").c_str(), 0700) != 0) {
      return ErrnoError(errno, "mkfifo shim log");
    }
    ASSIGN_OR_RETURN(sys::UniqueFd log_fd,
                     sys::Open(bundle->File("log"), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    const google::protobuf::Any* options = opts.task_options      ? &*opts.task_options
                                           : opts.runtime_options ? &*opts.runtime_options
                                                                  : nullptr;
    absl::StatusOr<std::string> address = StartShim(command, *bundle, options);
    if (!address.ok()) return Annotate(address.status(), "failed to start shim: start failed");
    ASSIGN_OR_RETURN(std::shared_ptr<Task> task,
                     Connect(*bundle, opts.runtime, command, *address));
    task->log_ = std::move(log_fd);
    OpenLog(*task);
    return task;
  }();
  if (!started.ok()) {
    // Nothing is listening, or the shim is not ours to talk to: clean up like a dead shim.
    CleanupDeadShim(*bundle, command, /*publish=*/false);
    unreserve();
    return started.status();
  }
  std::shared_ptr<Task> task = *std::move(started);

  task_v2::CreateTaskRequest req;
  req.set_id(id);
  req.set_bundle(bundle->path);
  for (const auto& m : opts.rootfs) *req.add_rootfs() = m;
  req.set_terminal(opts.terminal);
  req.set_stdin(opts.stdin_path);
  req.set_stdout(opts.stdout_path);
  req.set_stderr(opts.stderr_path);
  req.set_checkpoint(opts.checkpoint);
  if (opts.task_options) {
    *req.mutable_options() = *opts.task_options;
  } else if (opts.runtime_options) {
    *req.mutable_options() = *opts.runtime_options;
  }
  absl::StatusOr<task_v2::CreateTaskResponse> created =
      task->Call<task_v2::CreateTaskResponse>("Create", req);
  if (!created.ok()) {
    // containerd: delete in the shim, shut it down, remove the bundle.
    task_v2::DeleteRequest del;
    del.set_id(id);
    (void)task->Call<task_v2::DeleteResponse>("Delete", del, kShutdownTimeout);
    ShutdownAndRemove(*task);
    unreserve();
    return Annotate(created.status(), "failed to create shim task");
  }
  {
    absl::MutexLock lock(&mu_);
    tasks_[key] = task;
  }
  return std::make_pair(task, created->pid());
}

absl::StatusOr<std::shared_ptr<Task>> TaskManager::Connect(const Bundle& bundle,
                                                           const std::string& runtime,
                                                           const ShimCommand& command,
                                                           const std::string& address) {
  ASSIGN_OR_RETURN(std::shared_ptr<ttrpc::Client> client,
                   ttrpc::Client::Connect(loop_.get(), address));
  auto task = std::make_shared<Task>(bundle, runtime, client, command);
  std::weak_ptr<Task> weak = task;
  client->OnClose([this, weak] {
    if (std::shared_ptr<Task> t = weak.lock()) OnShimClosed(t);
  });
  return task;
}

void TaskManager::OpenLog(Task& task) {
  if (!task.log_.valid()) return;
  const int fd = task.log_.get();
  loop_->Post([this, fd, id = task.id()] {
    (void)loop_->Add(fd, EPOLLIN, [fd, id](uint32_t) {
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n <= 0) return;
        std::string text(buf, static_cast<size_t>(n));
        for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
          log::Debug("shim", {{"id", id}, {"log", line}});
        }
      }
    });
  });
}

void TaskManager::Release(Task& task) {
  task.client_->Close();
  if (task.log_.valid()) {
    loop_->Post([this, fd = task.log_.release()] {
      loop_->Remove(fd);
      ::close(fd);
    });
  }
}

absl::StatusOr<std::shared_ptr<Task>> TaskManager::Get(const std::string& ns,
                                                       const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(Key(ns, id));
  if (it == tasks_.end() || it->second == nullptr) {
    return absl::NotFoundError(absl::StrCat("task ", id, " not found"));
  }
  return it->second;
}

std::vector<std::shared_ptr<Task>> TaskManager::List(const std::string& ns) {
  std::vector<std::shared_ptr<Task>> out;
  absl::MutexLock lock(&mu_);
  for (auto it = tasks_.lower_bound(Key(ns, "")); it != tasks_.end() && it->first.first == ns;
       ++it) {
    if (it->second != nullptr) out.push_back(it->second);
  }
  return out;
}

absl::StatusOr<task_v2::DeleteResponse> TaskManager::Delete(const std::string& ns,
                                                            const std::string& id) {
  ASSIGN_OR_RETURN(std::shared_ptr<Task> task, Get(ns, id));
  task_v2::DeleteRequest req;
  req.set_id(id);
  absl::StatusOr<task_v2::DeleteResponse> resp = task->Call<task_v2::DeleteResponse>("Delete", req);
  if (!resp.ok() && !absl::IsNotFound(resp.status()) && !absl::IsUnavailable(resp.status())) {
    return resp.status();
  }
  {
    // From here the shim's connection closing is expected, not a crash to clean up after.
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(ns, id));
    if (it != tasks_.end() && it->second == task) tasks_.erase(it);
  }
  ShutdownAndRemove(*task);
  return resp;
}

void TaskManager::ShutdownAndRemove(Task& task) {
  task_v2::ShutdownRequest shutdown;
  shutdown.set_id(task.id());
  (void)task.Call<google::protobuf::Empty>("Shutdown", shutdown, kShutdownTimeout);
  Release(task);
  if (absl::Status s = task.bundle().Delete(); !s.ok()) {
    log::Warn("failed to delete bundle", {{"id", task.id()}, {"error", s.ToString()}});
  }
}

void TaskManager::OnShimClosed(const std::shared_ptr<Task>& task) {
  {
    absl::MutexLock lock(&mu_);
    auto it = tasks_.find(Key(task->ns(), task->id()));
    if (it == tasks_.end() || it->second != task) return;  // deleted on purpose
    tasks_.erase(it);
  }
  log::Warn("cleaning up after shim disconnected", {{"id", task->id()}, {"namespace", task->ns()}});
  // The log fd is still registered on this (the loop) thread.
  if (task->log_.valid()) {
    loop_->Remove(task->log_.get());
    task->log_.reset();
  }
  Enqueue([this, bundle = task->bundle(), command = task->command_] {
    CleanupDeadShim(bundle, command, /*publish=*/true);
  });
}

void TaskManager::CleanupDeadShim(const Bundle& bundle, const ShimCommand& command,
                                  bool publish) {
  absl::StatusOr<task_v2::DeleteResponse> resp = DeleteShim(command, bundle);
  if (!resp.ok()) {
    log::Warn("failed to clean up after shim disconnected",
              {{"id", bundle.id}, {"namespace", bundle.ns}, {"error", resp.status().ToString()}});
  }
  if (publish) {
    uint32_t pid = 0;
    uint32_t status = 255;
    google::protobuf::Timestamp exited_at = Now();
    if (resp.ok()) {
      pid = resp->pid();
      status = resp->exit_status();
      if (resp->has_exited_at()) exited_at = resp->exited_at();
    }
    PublishExit(bundle.ns, bundle.id, pid, status, exited_at);
  }
  if (absl::Status s = bundle.Delete(); !s.ok()) {
    log::Warn("failed to delete bundle", {{"id", bundle.id}, {"error", s.ToString()}});
  }
}

void TaskManager::PublishExit(const std::string& ns, const std::string& id, uint32_t pid,
                              uint32_t exit_status, const google::protobuf::Timestamp& exited_at) {
  containerd::events::TaskExit exit;
  exit.set_container_id(id);
  exit.set_id(id);
  exit.set_pid(pid);
  exit.set_exit_status(exit_status);
  *exit.mutable_exited_at() = exited_at;
  (void)exchange_->Publish(ns, "/tasks/exit", events::PackEvent(exit));
  containerd::events::TaskDelete del;
  del.set_container_id(id);
  del.set_pid(pid);
  del.set_exit_status(exit_status);
  *del.mutable_exited_at() = exited_at;
  (void)exchange_->Publish(ns, "/tasks/delete", events::PackEvent(del));
}

void TaskManager::Enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(work_mu_);
    if (stopping_) return;
    work_.push_back(std::move(job));
  }
  work_cv_.notify_one();
}

void TaskManager::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(work_mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !work_.empty(); });
      if (work_.empty()) return;  // stopping, and nothing left
      job = std::move(work_.front());
      work_.pop_front();
    }
    job();
  }
}

// Reconnects to the shims a previous berthd started; cleans up after those that are gone.
absl::Status TaskManager::LoadExisting() {
  std::vector<Bundle> bundles;
  ASSIGN_OR_RETURN(std::vector<std::string> namespaces, sys::ListDir(config_.state));
  for (const std::string& ns : namespaces) {
    absl::StatusOr<std::vector<std::string>> ids = sys::ListDir(absl::StrCat(config_.state, "/", ns));
    if (!ids.ok()) continue;
    for (const std::string& id : *ids) {
      if (!id.empty() && id[0] == '.') continue;  // a half-deleted bundle
      bundles.push_back(Bundle::At(config_.root, config_.state, ns, id));
    }
  }
  auto load = [this](const Bundle& bundle) {
    std::string binary;
    if (auto b = sys::ReadFile(bundle.File("shim-binary-path")); b.ok()) {
      binary = std::string(absl::StripAsciiWhitespace(*b));
    } else if (auto r = ResolveShimBinary("io.containerd.berth.v2", config_.self_dir); r.ok()) {
      binary = *r;
    }
    const ShimCommand command = Command(bundle.ns, bundle.id, binary);
    absl::StatusOr<std::string> address = sys::ReadFile(bundle.File("address"));
    absl::Status status = address.status();
    if (address.ok()) {
      absl::StatusOr<std::shared_ptr<Task>> task =
          Connect(bundle, "", command, std::string(absl::StripAsciiWhitespace(*address)));
      status = task.status();
      if (task.ok()) {
        task_v2::ConnectRequest req;
        req.set_id(bundle.id);
        status = (*task)->Call<task_v2::ConnectResponse>("Connect", req, kConnectTimeout).status();
        if (status.ok()) {
          // A live shim without its task: berthd died while the shim's create failed (the
          // client that asked for it is gone, with its FIFOs) or while it deleted the task.
          // Nobody else will ever shut it down: do it now, and remove the bundle.
          task_v2::StateRequest state;
          state.set_id(bundle.id);
          absl::Status has_task =
              (*task)->Call<task_v2::StateResponse>("State", state, kConnectTimeout).status();
          if (absl::IsNotFound(has_task)) {
            log::Info("shim has no task left; shutting it down",
                      {{"id", bundle.id}, {"namespace", bundle.ns}});
            ShutdownAndRemove(**task);
            return;
          }
          if (auto fd = sys::Open(bundle.File("log"), O_RDWR | O_NONBLOCK | O_CLOEXEC); fd.ok()) {
            (*task)->log_ = *std::move(fd);
            OpenLog(**task);
          }
          absl::MutexLock lock(&mu_);
          tasks_[Key(bundle.ns, bundle.id)] = *task;
          log::Info("reconnected to shim", {{"id", bundle.id}, {"namespace", bundle.ns}});
          return;
        }
        Release(**task);
      }
    }
    log::Warn("shim is gone; cleaning up", {{"id", bundle.id}, {"namespace", bundle.ns},
                                            {"error", status.ToString()}});
    CleanupDeadShim(bundle, command, /*publish=*/true);
  };
  // In parallel: a dead shim's cleanup runs a binary and takes tens of milliseconds.
  for (size_t i = 0; i < bundles.size(); i += kMaxLoadThreads) {
    std::vector<std::thread> threads;
    for (size_t j = i; j < bundles.size() && j < i + kMaxLoadThreads; ++j) {
      threads.emplace_back(load, std::cref(bundles[j]));
    }
    for (std::thread& t : threads) t.join();
  }
  return absl::OkStatus();
}

}  // namespace berth::runtime
