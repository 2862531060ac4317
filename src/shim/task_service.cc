#include "shim/task_service.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "api/time.h"
#include "base/log.h"
#include "base/status.h"
#include "base/version.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/types/task/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "shim/io.h"

namespace berth::shim {
namespace {

namespace task = ::containerd::task::v2;
namespace events = ::containerd::events;
namespace types = ::containerd::v1::types;

constexpr char kProcessDetailsTypeUrl[] = "containerd.runc.v1.ProcessDetails";

// containerd's shim sends Go's zero time for "not exited" (its timestamps are non-nullable).
google::protobuf::Timestamp ExitTime(absl::Time t) {
  if (t == absl::InfinitePast()) {
    google::protobuf::Timestamp ts;
    ts.set_seconds(api::kGoZeroTimeSeconds);
    return ts;
  }
  return api::ToTimestamp(t);
}

types::Status StatusOf(const Container& c, const Process& p) {
  // Exec'd processes are paused with their container.
  State init_state = c.init()->state();
  if (p.kind() == Kind::kExec && init_state == State::kPaused) return types::PAUSED;
  switch (p.state()) {
    case State::kCreated:
      return types::CREATED;
    case State::kRunning:
      return types::RUNNING;
    case State::kPaused:
      return types::PAUSED;
    case State::kStopped:
    case State::kDeleted:
      return types::STOPPED;
  }
  return types::UNKNOWN;
}

absl::Status NotCreated() { return ErrNotFound("container not created"); }

// Registers `fn` for containerd.task.v2.Task/<method>, telling `activity` of every request.
template <typename Req, typename Fn>
void Handle(ttrpc::Server* server, const std::function<void()>& activity, const char* method,
            Fn fn) {
  server->Handle<Req>(
      kTaskService, method,
      [activity, fn = std::move(fn)](const Req& r, std::shared_ptr<ttrpc::Call> call) {
        if (activity) activity();
        fn(r, std::move(call));
      });
}

}  // namespace

TaskService::TaskService(sys::EventLoop* loop, Reaper* reaper, Publisher* publisher, Config config)
    : loop_(loop), reaper_(reaper), publisher_(publisher), config_(std::move(config)) {}

TaskService::~TaskService() = default;

Container* TaskService::Find(const std::string& id) const {
  auto it = containers_.find(id);
  return it == containers_.end() ? nullptr : it->second.get();
}

void TaskService::OnExit(Container* container, Process* process) {
  if (config_.activity) config_.activity();
  events::TaskExit exit;
  exit.set_container_id(container->id());
  exit.set_id(process->id());
  exit.set_pid(process->pid());
  exit.set_exit_status(process->exit_status());
  *exit.mutable_exited_at() = ExitTime(process->exited_at());
  publisher_->Publish("/tasks/exit", exit);
  log::Debug("process exited", {{"container", container->id()},
                                {"id", process->id()},
                                {"pid", process->pid()},
                                {"status", process->exit_status()}});
  for (auto& waiter : process->TakeWaiters()) waiter();
}

void TaskService::Register(ttrpc::Server* server) {
  using Call = std::shared_ptr<ttrpc::Call>;
  const std::function<void()>& activity = config_.activity;

  Handle<task::StateRequest>(server, activity, "State",
                             [this](const task::StateRequest& r, Call call) {
                               Container* c = Find(r.id());
                               if (c == nullptr) return call->ReplyError(NotCreated());
                               auto p = c->GetProcess(r.exec_id());
                               if (!p.ok()) return call->ReplyError(p.status());
                               const Process& process = **p;
                               task::StateResponse resp;
                               resp.set_id(process.id());
                               resp.set_bundle(c->bundle());
                               resp.set_pid(process.pid());
                               resp.set_status(StatusOf(*c, process));
                               resp.set_stdin(process.stdio().stdin_path);
                               resp.set_stdout(process.stdio().stdout_path);
                               resp.set_stderr(process.stdio().stderr_path);
                               resp.set_terminal(process.stdio().terminal);
                               resp.set_exit_status(process.exit_status());
                               *resp.mutable_exited_at() = ExitTime(process.exited_at());
                               call->Reply(resp);
                             });

  Handle<task::CreateTaskRequest>(
      server, activity, "Create", [this](const task::CreateTaskRequest& r, Call call) {
        if (Find(r.id()) != nullptr) {
          return call->ReplyError(ErrAlreadyExists(absl::StrCat("container ", r.id())));
        }
        Container::Env env;
        env.loop = loop_;
        env.reaper = reaper_;
        env.ns = config_.ns;
        env.address = config_.address;
        env.on_exit = [this](Container* c, Process* p) { OnExit(c, p); };
        env.detached_mounts = &detached_mounts_;
        env.on_oom = [this](Container* c) {
          events::TaskOOM oom;
          oom.set_container_id(c->id());
          publisher_->Publish("/tasks/oom", oom);
        };
        auto container = Container::Create(std::move(env), r);
        if (!container.ok()) {
          log::Error("create failed", {{"id", r.id()}, {"error", container.status().ToString()}});
          return call->ReplyError(container.status());
        }
        Container* c = container->get();
        containers_[r.id()] = *std::move(container);

        events::TaskCreate ev;
        ev.set_container_id(r.id());
        ev.set_bundle(r.bundle());
        *ev.mutable_rootfs() = r.rootfs();
        ev.mutable_io()->set_stdin(r.stdin());
        ev.mutable_io()->set_stdout(r.stdout());
        ev.mutable_io()->set_stderr(r.stderr());
        ev.mutable_io()->set_terminal(r.terminal());
        ev.set_checkpoint(r.checkpoint());
        ev.set_pid(c->init()->pid());
        publisher_->Publish("/tasks/create", ev);

        task::CreateTaskResponse resp;
        resp.set_pid(c->init()->pid());
        call->Reply(resp);
      });

  Handle<task::StartRequest>(server, activity, "Start",
                             [this](const task::StartRequest& r, Call call) {
                               Container* c = Find(r.id());
                               if (c == nullptr) return call->ReplyError(NotCreated());
                               auto p = c->Start(r.exec_id());
                               if (!p.ok()) {
                                 if (!r.exec_id().empty()) {
                                   // containerd releases the exec's waiters when it fails to start.
                                   auto exec = c->GetProcess(r.exec_id());
                                   if (exec.ok()) {
                                     for (auto& waiter : (*exec)->TakeWaiters()) waiter();
                                   }
                                 }
                                 return call->ReplyError(p.status());
                               }
                               if (r.exec_id().empty()) {
                                 events::TaskStart ev;
                                 ev.set_container_id(c->id());
                                 ev.set_pid((*p)->pid());
                                 publisher_->Publish("/tasks/start", ev);
                               } else {
                                 events::TaskExecStarted ev;
                                 ev.set_container_id(c->id());
                                 ev.set_exec_id(r.exec_id());
                                 ev.set_pid((*p)->pid());
                                 publisher_->Publish("/tasks/exec-started", ev);
                               }
                               task::StartResponse resp;
                               resp.set_pid((*p)->pid());
                               call->Reply(resp);
                             });

  Handle<task::DeleteRequest>(
      server, activity, "Delete", [this](const task::DeleteRequest& r, Call call) {
        Container* c = Find(r.id());
        if (c == nullptr) return call->ReplyError(NotCreated());
        std::string id = r.id();
        bool init = r.exec_id().empty();
        c->Delete(r.exec_id(), [this, call, id, init](absl::StatusOr<Process*> p) {
          if (!p.ok()) return call->ReplyError(p.status());
          task::DeleteResponse resp;
          resp.set_pid((*p)->pid());
          resp.set_exit_status((*p)->exit_status());
          *resp.mutable_exited_at() = ExitTime((*p)->exited_at());
          if (init) {
            events::TaskDelete ev;
            ev.set_container_id(id);
            ev.set_pid((*p)->pid());
            ev.set_exit_status((*p)->exit_status());
            *ev.mutable_exited_at() = ExitTime((*p)->exited_at());
            publisher_->Publish("/tasks/delete", ev);
            // Destroyed on a later turn: this callback runs inside the container.
            auto it = containers_.find(id);
            if (it != containers_.end()) {
              std::shared_ptr<Container> doomed(it->second.release());
              containers_.erase(it);
              loop_->Post([doomed]() {});
            }
          }
          call->Reply(resp);
        });
      });

  Handle<task::PidsRequest>(server, activity, "Pids",
                            [this](const task::PidsRequest& r, Call call) {
                              Container* c = Find(r.id());
                              if (c == nullptr) return call->ReplyError(NotCreated());
                              auto pids = c->Pids();
                              if (!pids.ok()) return call->ReplyError(pids.status());
                              std::vector<Process*> execs = c->ExecProcesses();
                              task::PidsResponse resp;
                              for (int pid : *pids) {
                                types::ProcessInfo* info = resp.add_processes();
                                info->set_pid(pid);
                                for (const Process* p : execs) {
                                  if (p->pid() != pid) continue;
                                  containerd::runc::v1::ProcessDetails details;
                                  details.set_exec_id(p->id());
                                  info->mutable_info()->set_type_url(kProcessDetailsTypeUrl);
                                  details.SerializeToString(info->mutable_info()->mutable_value());
                                  break;
                                }
                              }
                              call->Reply(resp);
                            });

  Handle<task::PauseRequest>(server, activity, "Pause",
                             [this](const task::PauseRequest& r, Call call) {
                               Container* c = Find(r.id());
                               if (c == nullptr) return call->ReplyError(NotCreated());
                               if (absl::Status st = c->Pause(); !st.ok())
                                 return call->ReplyError(st);
                               events::TaskPaused ev;
                               ev.set_container_id(c->id());
                               publisher_->Publish("/tasks/paused", ev);
                               call->Reply(google::protobuf::Empty());
                             });

  Handle<task::ResumeRequest>(server, activity, "Resume",
                              [this](const task::ResumeRequest& r, Call call) {
                                Container* c = Find(r.id());
                                if (c == nullptr) return call->ReplyError(NotCreated());
                                if (absl::Status st = c->Resume(); !st.ok())
                                  return call->ReplyError(st);
                                events::TaskResumed ev;
                                ev.set_container_id(c->id());
                                publisher_->Publish("/tasks/resumed", ev);
                                call->Reply(google::protobuf::Empty());
                              });

  Handle<task::CheckpointTaskRequest>(server, activity, "Checkpoint",
                                      [this](const task::CheckpointTaskRequest& r, Call call) {
                                        Container* c = Find(r.id());
                                        if (c == nullptr) return call->ReplyError(NotCreated());
                                        if (absl::Status st = c->Checkpoint(r); !st.ok())
                                          return call->ReplyError(st);
                                        events::TaskCheckpointed ev;
                                        ev.set_container_id(c->id());
                                        ev.set_checkpoint(r.path());
                                        publisher_->Publish("/tasks/checkpointed", ev);
                                        call->Reply(google::protobuf::Empty());
                                      });

  Handle<task::KillRequest>(
      server, activity, "Kill", [this](const task::KillRequest& r, Call call) {
        Container* c = Find(r.id());
        if (c == nullptr) return call->ReplyError(NotCreated());
        if (absl::Status st = c->Kill(r.exec_id(), r.signal(), r.all()); !st.ok()) {
          return call->ReplyError(st);
        }
        call->Reply(google::protobuf::Empty());
      });

  Handle<task::ExecProcessRequest>(server, activity, "Exec",
                                   [this](const task::ExecProcessRequest& r, Call call) {
                                     Container* c = Find(r.id());
                                     if (c == nullptr) return call->ReplyError(NotCreated());
                                     auto p = c->Exec(r);
                                     if (!p.ok()) return call->ReplyError(p.status());
                                     events::TaskExecAdded ev;
                                     ev.set_container_id(c->id());
                                     ev.set_exec_id(r.exec_id());
                                     publisher_->Publish("/tasks/exec-added", ev);
                                     call->Reply(google::protobuf::Empty());
                                   });

  Handle<task::ResizePtyRequest>(
      server, activity, "ResizePty", [this](const task::ResizePtyRequest& r, Call call) {
        Container* c = Find(r.id());
        if (c == nullptr) return call->ReplyError(NotCreated());
        if (absl::Status st = c->ResizePty(r.exec_id(), r.width(), r.height()); !st.ok()) {
          return call->ReplyError(st);
        }
        call->Reply(google::protobuf::Empty());
      });

  Handle<task::CloseIORequest>(server, activity, "CloseIO",
                               [this](const task::CloseIORequest& r, Call call) {
                                 Container* c = Find(r.id());
                                 if (c == nullptr) return call->ReplyError(NotCreated());
                                 if (absl::Status st = c->CloseIo(r.exec_id()); !st.ok())
                                   return call->ReplyError(st);
                                 call->Reply(google::protobuf::Empty());
                               });

  Handle<task::UpdateTaskRequest>(server, activity, "Update",
                                  [this](const task::UpdateTaskRequest& r, Call call) {
                                    Container* c = Find(r.id());
                                    if (c == nullptr) return call->ReplyError(NotCreated());
                                    if (absl::Status st = c->Update(r.resources()); !st.ok())
                                      return call->ReplyError(st);
                                    call->Reply(google::protobuf::Empty());
                                  });

  Handle<task::WaitRequest>(
      server, activity, "Wait", [this](const task::WaitRequest& r, Call call) {
        Container* c = Find(r.id());
        if (c == nullptr) return call->ReplyError(NotCreated());
        auto p = c->GetProcess(r.exec_id());
        if (!p.ok()) return call->ReplyError(p.status());
        Process* process = *p;
        auto answer = [call, process]() {
          task::WaitResponse resp;
          resp.set_exit_status(process->exit_status());
          *resp.mutable_exited_at() = ExitTime(process->exited_at());
          call->Reply(resp);
        };
        if (process->state() == State::kStopped || process->state() == State::kDeleted) {
          return answer();
        }
        process->AddWaiter(std::move(answer));
      });

  Handle<task::StatsRequest>(server, activity, "Stats",
                             [this](const task::StatsRequest& r, Call call) {
                               Container* c = Find(r.id());
                               if (c == nullptr) return call->ReplyError(NotCreated());
                               auto stats = c->Stats();
                               if (!stats.ok()) return call->ReplyError(stats.status());
                               task::StatsResponse resp;
                               *resp.mutable_stats() = *std::move(stats);
                               call->Reply(resp);
                             });

  Handle<task::ConnectRequest>(server, activity, "Connect",
                               [this](const task::ConnectRequest& r, Call call) {
                                 task::ConnectResponse resp;
                                 resp.set_shim_pid(static_cast<uint32_t>(::getpid()));
                                 if (Container* c = Find(r.id()); c != nullptr)
                                   resp.set_task_pid(c->init()->pid());
                                 resp.set_version(kVersion);
                                 call->Reply(resp);
                               });

  Handle<task::ShutdownRequest>(server, activity, "Shutdown",
                                [this](const task::ShutdownRequest&, Call call) {
                                  call->Reply(google::protobuf::Empty());
                                  // containerd's shim stays while it still serves a container.
                                  if (!containers_.empty() || shutting_down_) return;
                                  shutting_down_ = true;
                                  if (config_.shutdown) config_.shutdown();
                                });
}

}  // namespace berth::shim
