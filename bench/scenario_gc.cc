// Scenario "gc-stall": how long other clients wait while the daemon garbage-collects. It writes
// --count blobs (4 KiB, distinct) under a lease, then a probe client loops over three calls —
// Version (no storage), Content/Info (a metadata read) and Content/Update of a label (a metadata
// write) — while the main client deletes the lease with `sync`, so the daemon collects all the
// blobs before answering. The figure to read is the probe's max and p99 in mode "gc" against
// mode "idle" (the same loop with no collection running); "Leases/Delete(sync)" is the whole
// collection as the deleting client sees it.
//
// The probe blob carries containerd.io/gc.root so that it survives the collection in either
// daemon. Afterwards two of the blobs are checked to be gone (Content/Info NotFound), so that a
// daemon cannot look fast by not collecting.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "client/content.h"
#include "client/leases.h"
#include "runner.h"
#include "scenarios.h"

namespace berth::bench {

namespace {

namespace content_v1 = containerd::services::content::v1;

enum ProbeRpc : size_t { kVersion, kInfo, kUpdate };
const std::vector<std::string> kProbeNames = {"Version", "Content/Info", "Content/Update"};
constexpr int64_t kIdleIterations = 300;
constexpr size_t kBlobSize = 4096;

absl::StatusOr<std::unique_ptr<client::Client>> Connect(const BenchOptions& options) {
  client::Options copts;
  copts.address = options.address;
  copts.ns = options.ns;
  copts.timeout = absl::Seconds(60);
  return client::Client::Connect(copts);
}

absl::StatusOr<std::string> WriteBlob(client::Client& c, const std::string& ref,
                                      const std::string& data, const client::Labels& labels = {}) {
  client::WriteOptions o{
      .ref = ref, .total = static_cast<int64_t>(data.size()), .labels = labels};
  return client::WriteContent(c, o, [&data](int64_t offset) -> absl::StatusOr<std::string> {
    return data.substr(static_cast<size_t>(offset));
  });
}

// One probe iteration: the three calls, each timed.
absl::Status Probe(client::Client& c, const std::string& digest, int64_t i,
                   LatencyRecorder& recorder) {
  google::protobuf::Empty empty;
  containerd::services::version::v1::VersionResponse version;
  grpc::Status s = TimeRpc(recorder, kVersion, [&] {
    return c.version().Version(c.NewContext().get(), empty, &version);
  });
  if (!s.ok()) return RpcError("Version", "", s);

  content_v1::InfoRequest info_req;
  info_req.set_digest(digest);
  content_v1::InfoResponse info;
  s = TimeRpc(recorder, kInfo,
              [&] { return c.content().Info(c.NewContext().get(), info_req, &info); });
  if (!s.ok()) return RpcError("Content/Info", digest, s);

  content_v1::UpdateRequest update_req;
  update_req.mutable_info()->set_digest(digest);
  (*update_req.mutable_info()->mutable_labels())["containerd.io/gc.root"] = "bench";
  (*update_req.mutable_info()->mutable_labels())["berth.bench/probe"] = absl::StrCat(i);
  update_req.mutable_update_mask()->add_paths("labels.berth.bench/probe");
  content_v1::UpdateResponse updated;
  s = TimeRpc(recorder, kUpdate,
              [&] { return c.content().Update(c.NewContext().get(), update_req, &updated); });
  if (!s.ok()) return RpcError("Content/Update", digest, s);
  return absl::OkStatus();
}

ModeResult Result(const std::string& mode, int64_t iterations, absl::Duration wall,
                  const LatencyRecorder& recorder) {
  ModeResult r;
  r.mode = mode;
  r.clients = 1;
  r.iterations = iterations;
  r.calls_per_iteration = 3;
  r.wall = wall;
  r.rpcs = Summarize(recorder);
  return r;
}

}  // namespace

absl::StatusOr<Report> RunGcStall(const BenchOptions& options) {
  const std::string run = RunId();
  Report report;
  report.scenario = "gc-stall";
  report.description = absl::StrCat("probe = Version + Content/Info + Content/Update, while ",
                                    options.count, " blobs are collected");
  auto main_client = Connect(options);
  if (!main_client.ok()) return main_client.status();
  auto probe_client = Connect(options);
  if (!probe_client.ok()) return probe_client.status();
  client::Client& c = **main_client;
  client::Client& p = **probe_client;

  auto probe_blob =
      WriteBlob(c, absl::StrCat("bench-", run, "-probe"), absl::StrCat("probe blob ", run),
                {{"containerd.io/gc.root", "bench"}});
  if (!probe_blob.ok()) {
    return absl::Status(probe_blob.status().code(),
                        absl::StrCat("writing the probe blob: ", probe_blob.status().message()));
  }
  const std::string probe_digest = *probe_blob;

  // Mode "idle": the probe alone.
  {
    LatencyRecorder recorder(kProbeNames);
    for (int64_t i = 0; i < options.warmup; ++i) {
      LatencyRecorder discard(kProbeNames);
      if (absl::Status s = Probe(p, probe_digest, i, discard); !s.ok()) return s;
    }
    auto start = std::chrono::steady_clock::now();
    for (int64_t i = 0; i < kIdleIterations; ++i) {
      if (absl::Status s = Probe(p, probe_digest, i, recorder); !s.ok()) return s;
    }
    report.modes.push_back(Result("idle", kIdleIterations,
                                  absl::FromChrono(std::chrono::steady_clock::now() - start),
                                  recorder));
  }

  // Setup (not measured): --count blobs held by one lease only.
  const std::string lease = absl::StrCat("bench-", run, "-gc");
  if (auto l = client::CreateLease(c, lease, {}); !l.ok()) return l.status();
  c.set_lease(lease);
  std::string first, last;
  for (int64_t i = 0; i < options.count; ++i) {
    std::string data = absl::StrCat("bench ", run, " blob ", i, " ");
    data.resize(kBlobSize, static_cast<char>('a' + i % 26));
    auto d = WriteBlob(c, absl::StrCat("bench-", run, "-", i), data);
    if (!d.ok())
      return absl::Status(d.status().code(),
                          absl::StrCat("writing blob ", i, ": ", d.status().message()));
    if (i == 0) first = *d;
    last = *d;
  }
  c.set_lease("");

  // Mode "gc": the probe loops while Leases/Delete(sync) collects.
  LatencyRecorder recorder(kProbeNames);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> iterations{0};
  absl::Status probe_error;
  std::thread prober([&] {
    for (int64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
      if (absl::Status s = Probe(p, probe_digest, i, recorder); !s.ok()) {
        probe_error = s;
        return;
      }
      iterations.fetch_add(1, std::memory_order_relaxed);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the probe is running
  LatencyRecorder delete_recorder({"Leases/Delete(sync)"});
  containerd::services::leases::v1::DeleteRequest del;
  del.set_id(lease);
  del.set_sync(true);
  google::protobuf::Empty empty;
  auto start = std::chrono::steady_clock::now();
  grpc::Status s = TimeRpc(delete_recorder, 0,
                           [&] { return c.leases().Delete(c.NewContext().get(), del, &empty); });
  auto wall = std::chrono::steady_clock::now() - start;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // and after
  stop.store(true);
  prober.join();
  if (!s.ok()) return RpcError("Leases/Delete", lease, s);
  if (!probe_error.ok()) return probe_error;

  for (const std::string& d : {first, last}) {
    absl::Status gone = client::GetContentInfo(c, d).status();
    if (!absl::IsNotFound(gone)) {
      return absl::DataLossError(absl::StrCat("blob ", d,
                                              " was not collected by Leases/Delete "
                                              "with sync: ",
                                              gone.ToString()));
    }
  }
  // The probe blob goes too (the next collection removes it).
  if (absl::Status st = client::DeleteContent(c, probe_digest); !st.ok()) return st;
  ModeResult gc = Result("gc", iterations.load(), absl::FromChrono(wall), recorder);
  gc.rpcs.push_back(Summarize(delete_recorder)[0]);
  report.modes.push_back(std::move(gc));
  return report;
}

}  // namespace berth::bench
