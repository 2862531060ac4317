#include "runner.h"

#include <algorithm>
#include <atomic>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::bench {

absl::Status RpcError(const std::string& rpc, const std::string& object,
                      const grpc::Status& status) {
  absl::Status s = client::FromGrpc(status);
  return absl::Status(s.code(), absl::StrCat(rpc, " ", object, ": ", s.message(), " (",
                                             absl::StatusCodeToString(s.code()), ")"));
}

std::string RunId() {
  std::random_device rd;
  std::mt19937_64 gen(
      (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  return absl::StrFormat("%08x", static_cast<uint32_t>(gen()));
}

absl::StatusOr<ModeResult> RunMode(const BenchOptions& options, const ModeSpec& spec,
                                   const IterationFn& iterate) {
  const int clients = std::max(1, spec.clients);

  std::atomic<bool> failed{false};
  std::mutex error_mu;
  absl::Status first_error;  // guarded by error_mu
  auto fail = [&](absl::Status status) {
    std::lock_guard<std::mutex> lock(error_mu);
    if (first_error.ok()) first_error = std::move(status);
    failed.store(true);
  };

  std::vector<LatencyRecorder> recorders(clients, LatencyRecorder(spec.rpc_names));
  std::latch connected(clients);
  std::latch go(1);
  std::vector<std::thread> threads;
  threads.reserve(clients);

  int64_t begin = 0;
  for (int t = 0; t < clients; ++t) {
    // The first count % clients workers do one more iteration than the others.
    int64_t n = spec.count / clients + (t < spec.count % clients ? 1 : 0);
    int64_t end = begin + n;
    threads.emplace_back([&, t, begin, end] {
      client::Options copts;
      copts.address = options.address;  // each Client has its own connection
      copts.ns = options.ns;
      // A hung daemon must fail the run (DeadlineExceeded), not hang it.
      copts.timeout = absl::Seconds(30);
      auto client = client::Client::Connect(copts);
      if (!client.ok()) fail(client.status());
      recorders[t].Reserve(static_cast<size_t>(end - begin));
      connected.count_down();
      go.wait();
      if (!client.ok()) return;
      for (int64_t i = begin; i < end && !failed.load(std::memory_order_relaxed); ++i) {
        absl::Status s = iterate(**client, i, recorders[t]);
        if (!s.ok()) {
          fail(std::move(s));
          return;
        }
      }
    });
    begin = end;
  }

  connected.wait();
  auto start = std::chrono::steady_clock::now();
  go.count_down();
  for (auto& t : threads) t.join();
  auto wall = std::chrono::steady_clock::now() - start;

  if (failed.load()) {
    return absl::Status(first_error.code(),
                        absl::StrCat(spec.mode, " mode: ", first_error.message()));
  }

  LatencyRecorder all(spec.rpc_names);
  for (const auto& r : recorders) all.Merge(r);
  ModeResult result;
  result.mode = spec.mode;
  result.clients = clients;
  result.iterations = spec.count;
  result.calls_per_iteration = spec.calls_per_iteration;
  result.wall = absl::FromChrono(wall);
  result.rpcs = Summarize(all);
  return result;
}

}  // namespace berth::bench
