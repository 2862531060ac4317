// containerd.services.tasks.v1.Tasks over the v2 runtime (runtime/task_manager.h): every RPC,
// with containerd's checks (the container must exist; "task X not found") and codes. Task
// events (/tasks/create, /tasks/exit, ...) come from the shims, not from here.
//
// Wait holds no thread: it is answered when the shim answers its own Wait. The other calls
// make one blocking ttrpc call to the shim from gRPC's callback thread.
#pragma once

#include "github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h"
#include "metadata/containers.h"
#include "runtime/task_manager.h"

namespace berth::services {

class TasksService final : public containerd::services::tasks::v1::Tasks::CallbackService {
 public:
  TasksService(metadata::ContainerStore* containers, runtime::TaskManager* tasks)
      : containers_(containers), tasks_(tasks) {}

#define BERTH_TASKS_RPC(name, Req, Resp)                                                  \
  grpc::ServerUnaryReactor* name(grpc::CallbackServerContext* ctx, const Req* req, Resp* resp) \
      override;
  BERTH_TASKS_RPC(Create, containerd::services::tasks::v1::CreateTaskRequest,
                  containerd::services::tasks::v1::CreateTaskResponse)
  BERTH_TASKS_RPC(Start, containerd::services::tasks::v1::StartRequest,
                  containerd::services::tasks::v1::StartResponse)
  BERTH_TASKS_RPC(Delete, containerd::services::tasks::v1::DeleteTaskRequest,
                  containerd::services::tasks::v1::DeleteResponse)
  BERTH_TASKS_RPC(DeleteProcess, containerd::services::tasks::v1::DeleteProcessRequest,
                  containerd::services::tasks::v1::DeleteResponse)
  BERTH_TASKS_RPC(Get, containerd::services::tasks::v1::GetRequest,
                  containerd::services::tasks::v1::GetResponse)
  BERTH_TASKS_RPC(List, containerd::services::tasks::v1::ListTasksRequest,
                  containerd::services::tasks::v1::ListTasksResponse)
  BERTH_TASKS_RPC(Kill, containerd::services::tasks::v1::KillRequest, google::protobuf::Empty)
  BERTH_TASKS_RPC(Exec, containerd::services::tasks::v1::ExecProcessRequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(ResizePty, containerd::services::tasks::v1::ResizePtyRequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(CloseIO, containerd::services::tasks::v1::CloseIORequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(Pause, containerd::services::tasks::v1::PauseTaskRequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(Resume, containerd::services::tasks::v1::ResumeTaskRequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(ListPids, containerd::services::tasks::v1::ListPidsRequest,
                  containerd::services::tasks::v1::ListPidsResponse)
  BERTH_TASKS_RPC(Checkpoint, containerd::services::tasks::v1::CheckpointTaskRequest,
                  containerd::services::tasks::v1::CheckpointTaskResponse)
  BERTH_TASKS_RPC(Update, containerd::services::tasks::v1::UpdateTaskRequest,
                  google::protobuf::Empty)
  BERTH_TASKS_RPC(Metrics, containerd::services::tasks::v1::MetricsRequest,
                  containerd::services::tasks::v1::MetricsResponse)
  BERTH_TASKS_RPC(Wait, containerd::services::tasks::v1::WaitRequest,
                  containerd::services::tasks::v1::WaitResponse)
#undef BERTH_TASKS_RPC

 private:
  metadata::ContainerStore* const containers_;
  runtime::TaskManager* const tasks_;
};

}  // namespace berth::services
