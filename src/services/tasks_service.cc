#include "services/tasks_service.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "api/time.h"
#include "base/filters.h"
#include "base/identifiers.h"
#include "base/log.h"
#include "base/status.h"
#include "services/common.h"

namespace berth::services {

namespace api = containerd::services::tasks::v1;
namespace v2 = containerd::task::v2;

namespace {

struct Found {
  std::string ns;
  metadata::Container container;
  std::shared_ptr<runtime::Task> task;
};

// containerd's getTask: the container must exist, then its task.
absl::StatusOr<Found> Lookup(const grpc::ServerContextBase* ctx,
                             metadata::ContainerStore* containers, runtime::TaskManager* tasks,
                             const std::string& id) {
  ASSIGN_OR_RETURN(RequestContext rc, Required(ctx));
  ASSIGN_OR_RETURN(metadata::Container container, containers->Get(rc.ns, id));
  ASSIGN_OR_RETURN(std::shared_ptr<runtime::Task> task, tasks->Get(rc.ns, id));
  return Found{rc.ns, std::move(container), std::move(task)};
}

// containerd's getProcessState: the shim's State as a containerd.v1.types.Process.
absl::Status ProcessState(runtime::Task& task, const std::string& exec_id,
                          containerd::v1::types::Process* out) {
  v2::StateRequest req;
  req.set_id(task.id());
  req.set_exec_id(exec_id);
  ASSIGN_OR_RETURN(v2::StateResponse state,
                   task.Call<v2::StateResponse>("State", req, absl::Seconds(2)));
  out->set_id(exec_id.empty() ? task.id() : exec_id);
  out->set_pid(state.pid());
  out->set_status(state.status());
  out->set_stdin(state.stdin());
  out->set_stdout(state.stdout());
  out->set_stderr(state.stderr());
  out->set_terminal(state.terminal());
  out->set_exit_status(state.exit_status());
  *out->mutable_exited_at() = state.exited_at();
  return absl::OkStatus();
}

// Runs `fn` on the task named by the request and finishes the call with its status.
template <typename Fn>
grpc::ServerUnaryReactor* WithTask(grpc::CallbackServerContext* ctx,
                                   metadata::ContainerStore* containers,
                                   runtime::TaskManager* tasks, const std::string& id, Fn fn) {
  absl::StatusOr<Found> found = Lookup(ctx, containers, tasks, id);
  if (!found.ok()) return Finish(ctx, found.status());
  return Finish(ctx, fn(*found));
}

// A shim call whose response is dropped (the RPCs answering Empty).
template <typename Req>
absl::Status CallShim(runtime::Task& task, const std::string& method, const Req& req) {
  return task.Call<google::protobuf::Empty>(method, req).status();
}

// Wait: finished from the runtime's loop thread when the shim answers, or on cancellation.
class WaitReactor final : public grpc::ServerUnaryReactor {
 public:
  struct State {
    absl::Mutex mu;
    bool finished ABSL_GUARDED_BY(mu) = false;
    WaitReactor* reactor ABSL_GUARDED_BY(mu);
    api::WaitResponse* resp ABSL_GUARDED_BY(mu);
  };

  explicit WaitReactor(api::WaitResponse* resp) : state_(std::make_shared<State>()) {
    absl::MutexLock lock(&state_->mu);
    state_->reactor = this;
    state_->resp = resp;
  }
  std::shared_ptr<State> state() const { return state_; }

  // Only the first completion counts; after it the reactor may be gone, and is not touched.
  static void Complete(const std::shared_ptr<State>& s, absl::StatusOr<std::string> answer) {
    absl::MutexLock lock(&s->mu);
    if (s->finished) return;
    s->finished = true;
    if (!answer.ok()) {
      s->reactor->Finish(ToGrpc(answer.status()));
      return;
    }
    v2::WaitResponse w;
    if (!w.ParseFromString(*answer)) {
      s->reactor->Finish(ToGrpc(absl::InternalError("unreadable Wait response from the shim")));
      return;
    }
    s->resp->set_exit_status(w.exit_status());
    *s->resp->mutable_exited_at() = w.exited_at();
    s->reactor->Finish(grpc::Status::OK);
  }

  void OnCancel() override { Complete(state_, absl::CancelledError("context canceled")); }
  void OnDone() override { delete this; }

 private:
  std::shared_ptr<State> state_;
};

}  // namespace

grpc::ServerUnaryReactor* TasksService::Create(grpc::CallbackServerContext* ctx,
                                               const api::CreateTaskRequest* req,
                                               api::CreateTaskResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto container = containers_->Get(rc->ns, req->container_id());
  if (!container.ok()) return Finish(ctx, container.status());
  if (req->has_checkpoint()) {
    return Finish(ctx, ErrNotImplemented("restoring a task from a checkpoint"));
  }
  runtime::CreateOpts opts;
  opts.runtime = req->runtime_path().empty() ? container->runtime.name : req->runtime_path();
  if (container->runtime.options) opts.runtime_options = ToProto(*container->runtime.options);
  if (req->has_options()) opts.task_options = req->options();
  if (container->spec) opts.spec = container->spec->value;
  opts.stdin_path = req->stdin();
  opts.stdout_path = req->stdout();
  opts.stderr_path = req->stderr();
  opts.terminal = req->terminal();
  opts.rootfs.assign(req->rootfs().begin(), req->rootfs().end());
  auto created = tasks_->Create(rc->ns, req->container_id(), std::move(opts));
  if (!created.ok()) return Finish(ctx, created.status());
  resp->set_container_id(req->container_id());
  resp->set_pid(created->second);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* TasksService::Start(grpc::CallbackServerContext* ctx,
                                              const api::StartRequest* req,
                                              api::StartResponse* resp) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    v2::StartRequest s;
    s.set_id(f.task->id());
    s.set_exec_id(req->exec_id());
    ASSIGN_OR_RETURN(v2::StartResponse started, f.task->Call<v2::StartResponse>("Start", s));
    resp->set_pid(started.pid());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TasksService::Delete(grpc::CallbackServerContext* ctx,
                                               const api::DeleteTaskRequest* req,
                                               api::DeleteResponse* resp) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    ASSIGN_OR_RETURN(v2::DeleteResponse deleted, tasks_->Delete(f.ns, f.task->id()));
    resp->set_pid(deleted.pid());
    resp->set_exit_status(deleted.exit_status());
    *resp->mutable_exited_at() = deleted.exited_at();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TasksService::DeleteProcess(grpc::CallbackServerContext* ctx,
                                                      const api::DeleteProcessRequest* req,
                                                      api::DeleteResponse* resp) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    v2::DeleteRequest d;
    d.set_id(f.task->id());
    d.set_exec_id(req->exec_id());
    ASSIGN_OR_RETURN(v2::DeleteResponse deleted, f.task->Call<v2::DeleteResponse>("Delete", d));
    resp->set_id(req->exec_id());
    resp->set_pid(deleted.pid());
    resp->set_exit_status(deleted.exit_status());
    *resp->mutable_exited_at() = deleted.exited_at();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TasksService::Get(grpc::CallbackServerContext* ctx,
                                            const api::GetRequest* req, api::GetResponse* resp) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    return ProcessState(*f.task, req->exec_id(), resp->mutable_process());
  });
}

grpc::ServerUnaryReactor* TasksService::List(grpc::CallbackServerContext* ctx,
                                             const api::ListTasksRequest* /*req*/,
                                             api::ListTasksResponse* resp) {
  // containerd ignores the request's filter too.
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  for (const auto& task : tasks_->List(rc->ns)) {
    containerd::v1::types::Process p;
    absl::Status s = ProcessState(*task, "", &p);
    if (!s.ok()) {
      if (!absl::IsNotFound(s)) {
        log::Warn("task state", {{"id", task->id()}, {"error", s.ToString()}});
      }
      continue;  // deleted meanwhile
    }
    *resp->add_tasks() = std::move(p);
  }
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* TasksService::Kill(grpc::CallbackServerContext* ctx,
                                             const api::KillRequest* req,
                                             google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    v2::KillRequest k;
    k.set_id(f.task->id());
    k.set_exec_id(req->exec_id());
    k.set_signal(req->signal());
    k.set_all(req->all());
    return CallShim(*f.task, "Kill", k);
  });
}

grpc::ServerUnaryReactor* TasksService::Exec(grpc::CallbackServerContext* ctx,
                                             const api::ExecProcessRequest* req,
                                             google::protobuf::Empty*) {
  if (req->exec_id().empty()) {
    return Finish(ctx, absl::InvalidArgumentError("exec id cannot be empty"));
  }
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    if (absl::Status s = ValidateIdentifier(req->exec_id()); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("invalid exec id ", req->exec_id(), ": ",
                                                 s.message()));
    }
    v2::ExecProcessRequest e;
    e.set_id(f.task->id());
    e.set_exec_id(req->exec_id());
    e.set_terminal(req->terminal());
    e.set_stdin(req->stdin());
    e.set_stdout(req->stdout());
    e.set_stderr(req->stderr());
    if (req->has_spec()) *e.mutable_spec() = req->spec();
    return CallShim(*f.task, "Exec", e);
  });
}

grpc::ServerUnaryReactor* TasksService::ResizePty(grpc::CallbackServerContext* ctx,
                                                  const api::ResizePtyRequest* req,
                                                  google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    v2::ResizePtyRequest r;
    r.set_id(f.task->id());
    r.set_exec_id(req->exec_id());
    r.set_width(req->width());
    r.set_height(req->height());
    return CallShim(*f.task, "ResizePty", r);
  });
}

grpc::ServerUnaryReactor* TasksService::CloseIO(grpc::CallbackServerContext* ctx,
                                                const api::CloseIORequest* req,
                                                google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    if (!req->stdin()) return absl::OkStatus();
    v2::CloseIORequest c;
    c.set_id(f.task->id());
    c.set_exec_id(req->exec_id());
    c.set_stdin(true);
    return CallShim(*f.task, "CloseIO", c);
  });
}

grpc::ServerUnaryReactor* TasksService::Pause(grpc::CallbackServerContext* ctx,
                                              const api::PauseTaskRequest* req,
                                              google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    v2::PauseRequest p;
    p.set_id(f.task->id());
    return CallShim(*f.task, "Pause", p);
  });
}

grpc::ServerUnaryReactor* TasksService::Resume(grpc::CallbackServerContext* ctx,
                                               const api::ResumeTaskRequest* req,
                                               google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    v2::ResumeRequest r;
    r.set_id(f.task->id());
    return CallShim(*f.task, "Resume", r);
  });
}

grpc::ServerUnaryReactor* TasksService::ListPids(grpc::CallbackServerContext* ctx,
                                                 const api::ListPidsRequest* req,
                                                 api::ListPidsResponse* resp) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    v2::PidsRequest p;
    p.set_id(f.task->id());
    ASSIGN_OR_RETURN(v2::PidsResponse pids, f.task->Call<v2::PidsResponse>("Pids", p));
    *resp->mutable_processes() = pids.processes();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* TasksService::Checkpoint(grpc::CallbackServerContext* ctx,
                                                   const api::CheckpointTaskRequest* req,
                                                   api::CheckpointTaskResponse*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) -> absl::Status {
    v2::CheckpointTaskRequest c;
    c.set_id(f.task->id());
    c.set_path(absl::StrCat(f.task->bundle().work, "/checkpoint"));
    if (req->has_options()) *c.mutable_options() = req->options();
    RETURN_IF_ERROR(CallShim(*f.task, "Checkpoint", c));
    // The shim wrote a CRIU image; containerd then stores it in the content store.
    return ErrNotImplemented("storing a checkpoint image in the content store");
  });
}

grpc::ServerUnaryReactor* TasksService::Update(grpc::CallbackServerContext* ctx,
                                               const api::UpdateTaskRequest* req,
                                               google::protobuf::Empty*) {
  return WithTask(ctx, containers_, tasks_, req->container_id(), [&](Found& f) {
    v2::UpdateTaskRequest u;
    u.set_id(f.task->id());
    if (req->has_resources()) *u.mutable_resources() = req->resources();
    u.mutable_annotations()->insert(req->annotations().begin(), req->annotations().end());
    return CallShim(*f.task, "Update", u);
  });
}

grpc::ServerUnaryReactor* TasksService::Metrics(grpc::CallbackServerContext* ctx,
                                                const api::MetricsRequest* req,
                                                api::MetricsResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::vector<std::string> strings(req->filters().begin(), req->filters().end());
  auto filter = filters::ParseAll(strings);
  if (!filter.ok()) return Finish(ctx, filter.status());
  for (const auto& task : tasks_->List(rc->ns)) {
    const bool match = filter->Match(
        [&](std::span<const std::string> path) -> std::optional<std::string> {
          if (path.empty()) return std::nullopt;
          if (path[0] == "id") return task->id();
          if (path[0] == "namespace") return task->ns();
          return std::nullopt;
        });
    if (!match) continue;
    const absl::Time collected = absl::Now();
    v2::StatsRequest s;
    s.set_id(task->id());
    auto stats = task->Call<v2::StatsResponse>("Stats", s);
    if (!stats.ok()) {
      if (!absl::IsNotFound(stats.status())) {
        log::Warn("collecting metrics", {{"id", task->id()}, {"error", stats.status().ToString()}});
      }
      continue;
    }
    containerd::types::Metric* m = resp->add_metrics();
    *m->mutable_timestamp() = berth::api::ToTimestamp(collected);
    m->set_id(task->id());
    *m->mutable_data() = stats->stats();
  }
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* TasksService::Wait(grpc::CallbackServerContext* ctx,
                                             const api::WaitRequest* req,
                                             api::WaitResponse* resp) {
  absl::StatusOr<Found> found = Lookup(ctx, containers_, tasks_, req->container_id());
  if (!found.ok()) return Finish(ctx, found.status());
  auto* reactor = new WaitReactor(resp);
  v2::WaitRequest w;
  w.set_id(found->task->id());
  w.set_exec_id(req->exec_id());
  found->task->CallAsync("Wait", w, [state = reactor->state()](absl::StatusOr<std::string> r) {
    WaitReactor::Complete(state, std::move(r));
  });
  return reactor;
}

}  // namespace berth::services
