// Scenario "run": the whole life of a short container, as `ctr run --rm IMAGE id /bin/true` does
// it through the API, on the real runtime (runc through the daemon's shim). One iteration:
//
//   create  Leases/Create (24 h expiry, as containerd's client.WithLease), Snapshots/Prepare
//           (key = id, parent = the image's top chain ID, under the lease), Containers/Create
//           (runtime io.containerd.runc.v2, the OCI spec ctr generates, under the lease),
//           Leases/Delete, Tasks/Create (rootfs = the Prepare mounts, no stdio)
//   start   Tasks/Start; Tasks/Wait was sent just before it, asynchronously, as ctr does
//   wait    from Start's answer to Wait's answer (the process exits on its own)
//   delete  Tasks/Delete, Snapshots/Remove, Containers/Delete (ctr's order: WithSnapshotCleanup
//           runs before the record is deleted)
//
// Each phase and each RPC is timed; "total" is the whole iteration. Both Wait and Delete must
// report exit status 0, so that a daemon cannot look fast by failing to run the container.
// ctr also calls Containers/Get + Snapshots/Mounts in NewTask and Containers/Get + Tasks/Get on
// the way out; they are left out here (a client that keeps what it created needs neither).
//
// Setup (not measured): berth.test/busybox:latest must be in the namespace (`compare.sh
// --scenario run` imports scripts/make-test-images.sh's busybox-docker.tar with ctr); it is
// unpacked into overlayfs if it is not yet, and its config's Env becomes the process's.
//
// Modes: "seq" (one client, --count containers one after the other), then "clients<N>"
// (--clients clients, each its own connection and container ids, --count containers in all).

#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/images.h"
#include "client/remote_content.h"
#include "client/snapshots.h"
#include "client/unpack.h"
#include "images/walk.h"
#include "ctr_spec.h"
#include "runner.h"
#include "scenarios.h"

namespace berth::bench {

namespace {

namespace containers_v1 = containerd::services::containers::v1;
namespace leases_v1 = containerd::services::leases::v1;
namespace snapshots_v1 = containerd::services::snapshots::v1;
namespace tasks_v1 = containerd::services::tasks::v1;

constexpr char kImage[] = "berth.test/busybox:latest";
constexpr char kRuntime[] = "io.containerd.runc.v2";
constexpr char kRuncOptionsTypeUrl[] = "containerd.runc.v1.Options";
constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kSnapshotter[] = "overlayfs";
constexpr char kDefaultPath[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Series of the LatencyRecorder, in this order: the phases first, then every RPC.
enum Series : size_t {
  kPhaseCreate,
  kPhaseStart,
  kPhaseWait,
  kPhaseDelete,
  kTotal,
  kLeaseCreate,
  kPrepare,
  kContainerCreate,
  kLeaseDelete,
  kTaskCreate,
  kTaskStart,
  kTaskWait,
  kTaskDelete,
  kSnapshotRemove,
  kContainerDelete,
};
const std::vector<std::string> kSeriesNames = {"create",
                                               "start",
                                               "wait",
                                               "delete",
                                               "total",
                                               "Leases/Create",
                                               "Snapshots/Prepare",
                                               "Containers/Create",
                                               "Leases/Delete",
                                               "Tasks/Create",
                                               "Tasks/Start",
                                               "Tasks/Wait",
                                               "Tasks/Delete",
                                               "Snapshots/Remove",
                                               "Containers/Delete"};
constexpr int kCallsPerIteration = 10;

using Clock = std::chrono::steady_clock;

absl::Duration Since(Clock::time_point start, Clock::time_point end = Clock::now()) {
  return absl::FromChrono(end - start);
}

// What every iteration shares, read once during setup.
struct Setup {
  std::string parent;  // the image's top chain ID: the rootfs snapshot's parent
  std::vector<std::string> env;
};

containers_v1::Container MakeContainer(const std::string& ns, const std::string& id,
                                       const Setup& setup) {
  containers_v1::Container c;
  c.set_id(id);
  (*c.mutable_labels())["io.containerd.image.config.stop-signal"] = "SIGTERM";
  c.set_image(kImage);
  c.mutable_runtime()->set_name(kRuntime);
  c.mutable_runtime()->mutable_options()->set_type_url(kRuncOptionsTypeUrl);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(CtrSpec(ns, id, {"/bin/true"}, setup.env));
  c.set_snapshotter(kSnapshotter);
  c.set_snapshot_key(id);
  return c;
}

// A context for one call, carrying `lease` when it is not empty.
std::unique_ptr<grpc::ClientContext> Context(client::Client& client,
                                             const std::string& lease = "") {
  auto ctx = client.NewContext();
  if (!lease.empty()) ctx->AddMetadata("containerd-lease", lease);
  return ctx;
}

std::unique_ptr<grpc::ClientContext> ShortContext(client::Client& client) {
  auto ctx = client.NewStreamContext();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return ctx;
}

// What an iteration has created so far, for the clean-up after a failure.
struct Created {
  bool lease = false;
  bool snapshot = false;
  bool container = false;
  bool task = false;
};

// Best effort, after a failure: leave nothing behind if the daemon still answers (a running task
// is killed first; Delete is retried while it says the task is still running).
void CleanUp(client::Client& client, const std::string& id, const std::string& lease,
             const Created& created) {
  google::protobuf::Empty empty;
  if (created.task) {
    tasks_v1::KillRequest kill;
    kill.set_container_id(id);
    kill.set_signal(9);
    kill.set_all(true);
    (void)client.tasks().Kill(ShortContext(client).get(), kill, &empty);
    tasks_v1::DeleteTaskRequest del;
    del.set_container_id(id);
    tasks_v1::DeleteResponse deleted;
    for (int i = 0; i < 50; ++i) {
      grpc::Status s = client.tasks().Delete(ShortContext(client).get(), del, &deleted);
      if (s.ok() || s.error_code() == grpc::StatusCode::NOT_FOUND) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (created.snapshot) {
    snapshots_v1::RemoveSnapshotRequest rm;
    rm.set_snapshotter(kSnapshotter);
    rm.set_key(id);
    (void)client.snapshots().Remove(ShortContext(client).get(), rm, &empty);
  }
  if (created.container) {
    containers_v1::DeleteContainerRequest del;
    del.set_id(id);
    (void)client.containers().Delete(ShortContext(client).get(), del, &empty);
  }
  if (created.lease) {
    leases_v1::DeleteRequest del;
    del.set_id(lease);
    (void)client.leases().Delete(ShortContext(client).get(), del, &empty);
  }
}

// Tasks/Wait in flight on gRPC's callback API: answered on a gRPC thread, which records when.
class PendingWait {
 public:
  PendingWait(client::Client& client, const std::string& id) : ctx_(client.NewContext()) {
    req_.set_container_id(id);
    result_ = done_.get_future();
    sent_ = Clock::now();
    client.tasks().async()->Wait(ctx_.get(), &req_, &resp_, [this](grpc::Status status) {
      answered_ = Clock::now();
      done_.set_value(std::move(status));
    });
  }
  // Waits for the answer, whatever it is; the RPC's own deadline bounds this.
  ~PendingWait() {
    if (result_.valid()) result_.wait();
  }

  void Cancel() { ctx_->TryCancel(); }
  grpc::Status Get() { return result_.get(); }
  const tasks_v1::WaitResponse& response() const { return resp_; }
  Clock::time_point sent() const { return sent_; }
  Clock::time_point answered() const { return answered_; }

 private:
  std::unique_ptr<grpc::ClientContext> ctx_;
  tasks_v1::WaitRequest req_;
  tasks_v1::WaitResponse resp_;
  Clock::time_point sent_;
  Clock::time_point answered_;  // written by the callback, read after the future is ready
  std::promise<grpc::Status> done_;
  std::future<grpc::Status> result_;
};

absl::Status RunOne(client::Client& client, const std::string& id, const Setup& setup,
                    LatencyRecorder& recorder) {
  const std::string lease = absl::StrCat(id, "-lease");
  Created created;
  auto fail = [&](absl::Status status) {
    CleanUp(client, id, lease, created);
    return status;
  };
  google::protobuf::Empty empty;
  const Clock::time_point begin = Clock::now();

  // --- create ---
  leases_v1::CreateRequest lease_req;
  lease_req.set_id(lease);
  (*lease_req.mutable_labels())["containerd.io/gc.expire"] =
      absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24), absl::UTCTimeZone());
  leases_v1::CreateResponse lease_resp;
  grpc::Status s = TimeRpc(recorder, kLeaseCreate, [&] {
    return client.leases().Create(Context(client).get(), lease_req, &lease_resp);
  });
  if (!s.ok()) return RpcError("Leases/Create", lease, s);
  created.lease = true;

  snapshots_v1::PrepareSnapshotRequest prepare;
  prepare.set_snapshotter(kSnapshotter);
  prepare.set_key(id);
  prepare.set_parent(setup.parent);
  snapshots_v1::PrepareSnapshotResponse prepared;
  s = TimeRpc(recorder, kPrepare, [&] {
    return client.snapshots().Prepare(Context(client, lease).get(), prepare, &prepared);
  });
  if (!s.ok()) return fail(RpcError("Snapshots/Prepare", id, s));
  created.snapshot = true;

  containers_v1::CreateContainerRequest create;
  *create.mutable_container() = MakeContainer(client.ns(), id, setup);
  containers_v1::CreateContainerResponse container;
  s = TimeRpc(recorder, kContainerCreate, [&] {
    return client.containers().Create(Context(client, lease).get(), create, &container);
  });
  if (!s.ok()) return fail(RpcError("Containers/Create", id, s));
  created.container = true;

  leases_v1::DeleteRequest lease_del;
  lease_del.set_id(lease);
  s = TimeRpc(recorder, kLeaseDelete,
              [&] { return client.leases().Delete(Context(client).get(), lease_del, &empty); });
  if (!s.ok()) return fail(RpcError("Leases/Delete", lease, s));
  created.lease = false;

  tasks_v1::CreateTaskRequest task_req;
  task_req.set_container_id(id);
  *task_req.mutable_rootfs() = prepared.mounts();
  tasks_v1::CreateTaskResponse task;
  s = TimeRpc(recorder, kTaskCreate,
              [&] { return client.tasks().Create(Context(client).get(), task_req, &task); });
  if (!s.ok()) return fail(RpcError("Tasks/Create", id, s));
  created.task = true;
  const Clock::time_point created_at = Clock::now();
  recorder.Add(kPhaseCreate, Since(begin, created_at));

  // --- start: Wait first, as ctr does, so that the exit cannot be missed ---
  tasks_v1::WaitResponse waited;
  grpc::Status wait_status;
  Clock::time_point wait_sent, wait_answered;
  {
    PendingWait wait(client, id);
    tasks_v1::StartRequest start_req;
    start_req.set_container_id(id);
    tasks_v1::StartResponse started;
    const Clock::time_point start_sent = Clock::now();
    s = client.tasks().Start(Context(client).get(), start_req, &started);
    const Clock::time_point start_answered = Clock::now();
    recorder.Add(kTaskStart, Since(start_sent, start_answered));
    recorder.Add(kPhaseStart, Since(created_at, start_answered));
    if (!s.ok()) {
      wait.Cancel();
      (void)wait.Get();
      return fail(RpcError("Tasks/Start", id, s));
    }
    wait_status = wait.Get();
    waited = wait.response();
    wait_sent = wait.sent();
    wait_answered = wait.answered();
    // The process may exit (and Wait answer) before Start's answer is read: that wait is 0.
    recorder.Add(kPhaseWait, wait_answered > start_answered ? Since(start_answered, wait_answered)
                                                            : absl::ZeroDuration());
  }
  recorder.Add(kTaskWait, Since(wait_sent, wait_answered));
  if (!wait_status.ok()) return fail(RpcError("Tasks/Wait", id, wait_status));
  if (waited.exit_status() != 0) {
    return fail(absl::InternalError(absl::StrCat("Tasks/Wait ", id, ": /bin/true exited with ",
                                                 waited.exit_status(), ", not 0")));
  }

  // --- delete ---
  const Clock::time_point delete_begin = Clock::now();
  tasks_v1::DeleteTaskRequest task_del;
  task_del.set_container_id(id);
  tasks_v1::DeleteResponse task_deleted;
  s = TimeRpc(recorder, kTaskDelete, [&] {
    return client.tasks().Delete(Context(client).get(), task_del, &task_deleted);
  });
  if (!s.ok()) return fail(RpcError("Tasks/Delete", id, s));
  created.task = false;
  if (task_deleted.exit_status() != 0) {
    return fail(absl::InternalError(absl::StrCat("Tasks/Delete ", id, ": exit status ",
                                                 task_deleted.exit_status(), ", not 0")));
  }

  snapshots_v1::RemoveSnapshotRequest remove;
  remove.set_snapshotter(kSnapshotter);
  remove.set_key(id);
  s = TimeRpc(recorder, kSnapshotRemove,
              [&] { return client.snapshots().Remove(Context(client).get(), remove, &empty); });
  if (!s.ok()) return fail(RpcError("Snapshots/Remove", id, s));
  created.snapshot = false;

  containers_v1::DeleteContainerRequest container_del;
  container_del.set_id(id);
  s = TimeRpc(recorder, kContainerDelete, [&] {
    return client.containers().Delete(Context(client).get(), container_del, &empty);
  });
  if (!s.ok()) return fail(RpcError("Containers/Delete", id, s));
  const Clock::time_point end = Clock::now();
  recorder.Add(kPhaseDelete, Since(delete_begin, end));
  recorder.Add(kTotal, Since(begin, end));
  return absl::OkStatus();
}

absl::Status Annotated(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

// Finds the image, unpacks it if needed (UnpackImage only Stats the snapshots of an image that
// is unpacked already) and reads its Env.
absl::StatusOr<Setup> Prepare(const BenchOptions& options) {
  client::Options copts;
  copts.address = options.address;
  copts.ns = options.ns;
  copts.timeout = absl::Seconds(120);
  auto c = client::Client::Connect(copts);
  if (!c.ok()) return c.status();
  client::Client& client = **c;

  auto image = client::GetImage(client, kImage);
  if (absl::IsNotFound(image.status())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "image ", kImage, " is not in namespace ", options.ns,
        ": build it with scripts/make-test-images.sh DIR, then `ctr -a ", options.address, " -n ",
        options.ns,
        " images import DIR/busybox-docker.tar` (`bench/compare.sh --scenario run` does both)"));
  }
  if (!image.ok()) return Annotated(image.status(), absl::StrCat("Images/Get ", kImage));
  auto unpacked = client::UnpackImage(client, *image);
  if (!unpacked.ok()) return Annotated(unpacked.status(), absl::StrCat("unpacking ", kImage));

  Setup setup;
  setup.parent = unpacked->chain_id;
  client::RemoteContentStore store(client);
  auto target = client::DescriptorFromProto(image->target());
  if (!target.ok()) return target.status();
  auto manifest = images::ResolveManifest(store, *target, images::Matcher::Default());
  if (!manifest.ok()) return Annotated(manifest.status(), "reading the image's manifest");
  auto config = images::ReadConfig(store, manifest->manifest.config);
  if (!config.ok()) return Annotated(config.status(), "reading the image's config");
  nlohmann::json doc = nlohmann::json::parse(config->raw, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("config") && doc["config"].is_object() &&
      doc["config"].contains("Env") && doc["config"]["Env"].is_array()) {
    for (const auto& e : doc["config"]["Env"]) {
      if (e.is_string()) setup.env.push_back(e.get<std::string>());
    }
  }
  if (setup.env.empty()) setup.env.push_back(kDefaultPath);
  return setup;
}

}  // namespace

absl::StatusOr<Report> RunRun(const BenchOptions& options) {
  auto setup = Prepare(options);
  if (!setup.ok()) return setup.status();

  const std::string run = RunId();
  Report report;
  report.scenario = "run";
  report.description =
      "create (Leases/Create + Snapshots/Prepare + Containers/Create + Leases/Delete + "
      "Tasks/Create), start (Tasks/Start, Tasks/Wait sent before it), wait (Start's answer to "
      "Wait's), delete (Tasks/Delete + Snapshots/Remove + Containers/Delete) of /bin/true";

  struct Mode {
    std::string name;
    const char* tag;  // in container ids, keeps the modes of one run apart
    int clients;
    int64_t count;
    bool measured;
  };
  const Mode modes[] = {
      {"warmup", "w", 1, options.warmup, false},
      {"seq", "s", 1, options.count, true},
      {absl::StrCat("clients", options.clients), "c", options.clients, options.count, true},
  };
  for (const Mode& mode : modes) {
    if (mode.count <= 0) continue;
    ModeSpec spec{mode.name, mode.clients, mode.count, kSeriesNames, kCallsPerIteration};
    const std::string prefix = absl::StrCat("bench-", run, "-", mode.tag, "-");
    auto result = RunMode(options, spec,
                          [&](client::Client& client, int64_t index, LatencyRecorder& recorder) {
                            return RunOne(client, absl::StrCat(prefix, index), *setup, recorder);
                          });
    if (!result.ok()) return result.status();
    if (mode.measured) report.modes.push_back(*std::move(result));
  }
  return report;
}

}  // namespace berth::bench
