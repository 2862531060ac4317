// Scenario "containers": the metadata path of the API, without images or tasks. One iteration
// creates a container record like `ctr run` does (runc v2 runtime, a ~2 KB OCI spec, labels,
// an overlayfs snapshot key), reads it back, and deletes it. This is what dominates the daemon's
// work when orchestrators churn through short-lived containers, minus the runtime itself.
//
// Modes: "sequential" (one client, count iterations), then "concurrent" (--clients clients, each
// its own connection, count iterations split among them).

#include <string>

#include "absl/strings/str_cat.h"
#include "ctr_spec.h"
#include "runner.h"
#include "scenarios.h"

namespace berth::bench {

namespace {

namespace containers_v1 = containerd::services::containers::v1;

constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
constexpr char kRuntime[] = "io.containerd.runc.v2";
constexpr char kImage[] = "docker.io/library/busybox:latest";
constexpr char kSnapshotter[] = "overlayfs";

enum Rpc : size_t { kCreate, kGet, kDelete };
const std::vector<std::string> kRpcNames = {"Containers/Create", "Containers/Get",
                                            "Containers/Delete"};

containers_v1::Container MakeContainer(const std::string& ns, const std::string& id,
                                       const std::string& run) {
  containers_v1::Container c;
  c.set_id(id);
  (*c.mutable_labels())["io.containerd.image.config.stop-signal"] = "SIGTERM";
  (*c.mutable_labels())["berth.bench/run"] = run;
  c.set_image(kImage);
  c.mutable_runtime()->set_name(kRuntime);
  c.mutable_spec()->set_type_url(kSpecTypeUrl);
  c.mutable_spec()->set_value(CtrSpec(ns, id, {"sh"},
                                     {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  c.set_snapshotter(kSnapshotter);
  c.set_snapshot_key(id);
  return c;
}

// Checks that Get returned what Create stored, so that a daemon cannot look fast by dropping data.
absl::Status CheckSame(const containers_v1::Container& want, const containers_v1::Container& got) {
  if (got.id() != want.id() || got.runtime().name() != want.runtime().name() ||
      got.spec().type_url() != want.spec().type_url() ||
      got.spec().value() != want.spec().value() || got.image() != want.image() ||
      got.snapshotter() != want.snapshotter() || got.snapshot_key() != want.snapshot_key() ||
      got.labels_size() != want.labels_size()) {
    return absl::DataLossError(absl::StrCat("Containers/Get ", want.id(),
                                            ": returned a container that differs from the one "
                                            "created"));
  }
  return absl::OkStatus();
}

// Best effort, after a failure: leave no container behind if the daemon still answers.
void DeleteQuietly(client::Client& client, const std::string& id) {
  containers_v1::DeleteContainerRequest req;
  req.set_id(id);
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  (void)client.containers().Delete(ctx.get(), req, &resp);
}

absl::Status CreateGetDelete(client::Client& client, const std::string& id, const std::string& run,
                             LatencyRecorder& recorder) {
  containers_v1::CreateContainerRequest create;
  *create.mutable_container() = MakeContainer(client.ns(), id, run);
  containers_v1::CreateContainerResponse created;
  grpc::Status s = TimeRpc(recorder, kCreate, [&] {
    return client.containers().Create(client.NewContext().get(), create, &created);
  });
  if (!s.ok()) return RpcError("Containers/Create", id, s);

  containers_v1::GetContainerRequest get;
  get.set_id(id);
  containers_v1::GetContainerResponse got;
  s = TimeRpc(recorder, kGet,
              [&] { return client.containers().Get(client.NewContext().get(), get, &got); });
  if (!s.ok()) {
    DeleteQuietly(client, id);
    return RpcError("Containers/Get", id, s);
  }
  if (absl::Status same = CheckSame(create.container(), got.container()); !same.ok()) {
    DeleteQuietly(client, id);
    return same;
  }

  containers_v1::DeleteContainerRequest del;
  del.set_id(id);
  google::protobuf::Empty deleted;
  s = TimeRpc(recorder, kDelete,
              [&] { return client.containers().Delete(client.NewContext().get(), del, &deleted); });
  if (!s.ok()) return RpcError("Containers/Delete", id, s);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Report> RunContainers(const BenchOptions& options) {
  const std::string run = RunId();
  Report report;
  report.scenario = "containers";
  report.description = "Containers/Create + Containers/Get + Containers/Delete";

  struct Mode {
    const char* name;
    const char* tag;  // in container ids, keeps the modes of one run apart
    int clients;
    int64_t count;
    bool measured;
  };
  const Mode modes[] = {
      {"warmup", "w", 1, options.warmup, false},
      {"sequential", "s", 1, options.count, true},
      {"concurrent", "c", options.clients, options.count, true},
  };
  for (const Mode& mode : modes) {
    if (mode.count <= 0) continue;
    ModeSpec spec{mode.name, mode.clients, mode.count, kRpcNames, 3};
    const std::string prefix = absl::StrCat("bench-", run, "-", mode.tag, "-");
    auto result = RunMode(
        options, spec, [&](client::Client& client, int64_t index, LatencyRecorder& recorder) {
          return CreateGetDelete(client, absl::StrCat(prefix, index), run, recorder);
        });
    if (!result.ok()) return result.status();
    if (mode.measured) report.modes.push_back(*std::move(result));
  }
  return report;
}

}  // namespace berth::bench
