// Figures a benchmark scenario produces, and how they are printed (a human table or JSON).
//
// A scenario runs one or more modes (sequential, concurrent, ...). Each mode reports its wall
// time, how many iterations it completed, and the latency of every RPC it timed.
// Thread-safety: plain values; LatencyRecorder is used by one thread, then merged.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace berth::bench {

// Per-thread latency samples, one series per RPC name, in the order the names were given.
class LatencyRecorder {
 public:
  explicit LatencyRecorder(std::vector<std::string> rpc_names);

  // Records one call of the RPC at `index` (position in the constructor's list).
  void Add(size_t index, absl::Duration latency) {
    samples_[index].push_back(absl::ToInt64Nanoseconds(latency));
  }
  void Reserve(size_t per_rpc);
  // Appends every sample of `other` (which must have the same RPC names).
  void Merge(const LatencyRecorder& other);

  const std::vector<std::string>& names() const { return names_; }
  const std::vector<int64_t>& samples(size_t index) const { return samples_[index]; }

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<int64_t>> samples_;  // nanoseconds
};

struct RpcSummary {
  std::string rpc;
  int64_t count = 0;
  double mean_us = 0, p50_us = 0, p99_us = 0, max_us = 0;
};

struct ModeResult {
  std::string mode;  // "sequential", "concurrent"
  int clients = 1;
  int64_t iterations = 0;  // completed iterations (each one = calls_per_iteration RPCs)
  int calls_per_iteration = 0;
  absl::Duration wall;
  std::vector<RpcSummary> rpcs;

  double IterationsPerSecond() const;
  double CallsPerSecond() const;
};

struct Report {
  std::string scenario;
  std::string description;  // what one iteration does: "Containers/Create + Containers/Get + ..."
  std::string address;
  std::string ns;
  std::vector<ModeResult> modes;
};

// Nearest-rank percentiles (p in [0,1]) over the recorder's samples of each RPC.
std::vector<RpcSummary> Summarize(const LatencyRecorder& recorder);

// Human-readable: one paragraph per mode with a latency table.
std::string FormatText(const Report& report);
// Keys in a fixed, readable order (ordered_json), figures rounded to 0.1 µs.
nlohmann::ordered_json ToJson(const Report& report);

}  // namespace berth::bench
