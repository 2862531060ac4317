// Runs one measured mode of a scenario: `clients` threads, each with its own Client (and so its
// own gRPC channel), that together perform `count` iterations of the scenario's body.
//
// Thread-safety: RunMode blocks until every worker thread has been joined. The iteration
// function is called concurrently from the worker threads, each with its own Client and
// LatencyRecorder; it must not share mutable state between calls without synchronizing it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "report.h"
#include "scenario.h"

namespace berth::bench {

// Performs iteration `index` (unique within the mode, in [0, count)) on `client`, recording the
// latency of each RPC it makes in `recorder`. Returns the first error, which aborts the mode.
using IterationFn =
    std::function<absl::Status(client::Client& client, int64_t index, LatencyRecorder& recorder)>;

struct ModeSpec {
  std::string mode;  // name printed in the report
  int clients = 1;
  int64_t count = 0;                   // split as evenly as possible among the clients
  std::vector<std::string> rpc_names;  // what the iteration records, in LatencyRecorder order
  int calls_per_iteration = 0;
};

// Connects every client first, then starts them together and measures the wall time from the
// start to the last one's finish. On the first error every worker stops; the error is returned.
absl::StatusOr<ModeResult> RunMode(const BenchOptions& options, const ModeSpec& spec,
                                   const IterationFn& iterate);

// Times one RPC: calls `call` (returning grpc::Status) and records its latency at `index`.
// Failed calls are recorded too; the caller decides what to do with the status.
template <typename Call>
grpc::Status TimeRpc(LatencyRecorder& recorder, size_t index, Call&& call) {
  auto start = std::chrono::steady_clock::now();
  grpc::Status status = call();
  recorder.Add(index, absl::FromChrono(std::chrono::steady_clock::now() - start));
  return status;
}

// "Containers/Create bench-1: <daemon's message>", keeping the gRPC code.
absl::Status RpcError(const std::string& rpc, const std::string& object,
                      const grpc::Status& status);

// A random hex string unique enough to keep object names of different runs apart.
std::string RunId();

}  // namespace berth::bench
