#include "report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace berth::bench {

LatencyRecorder::LatencyRecorder(std::vector<std::string> rpc_names)
    : names_(std::move(rpc_names)), samples_(names_.size()) {}

void LatencyRecorder::Reserve(size_t per_rpc) {
  for (auto& s : samples_) s.reserve(per_rpc);
}

void LatencyRecorder::Merge(const LatencyRecorder& other) {
  for (size_t i = 0; i < samples_.size() && i < other.samples_.size(); ++i) {
    samples_[i].insert(samples_[i].end(), other.samples_[i].begin(), other.samples_[i].end());
  }
}

namespace {

// Nearest-rank percentile of sorted samples, in microseconds.
double PercentileMicros(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return static_cast<double>(sorted[rank - 1]) / 1000.0;
}

double Round1(double v) { return std::round(v * 10.0) / 10.0; }

}  // namespace

std::vector<RpcSummary> Summarize(const LatencyRecorder& recorder) {
  std::vector<RpcSummary> out;
  for (size_t i = 0; i < recorder.names().size(); ++i) {
    std::vector<int64_t> sorted = recorder.samples(i);
    std::sort(sorted.begin(), sorted.end());
    RpcSummary s;
    s.rpc = recorder.names()[i];
    s.count = static_cast<int64_t>(sorted.size());
    if (!sorted.empty()) {
      long double total = 0;
      for (int64_t v : sorted) total += v;
      s.mean_us = static_cast<double>(total / sorted.size() / 1000.0L);
      s.p50_us = PercentileMicros(sorted, 0.50);
      s.p99_us = PercentileMicros(sorted, 0.99);
      s.max_us = static_cast<double>(sorted.back()) / 1000.0;
    }
    out.push_back(std::move(s));
  }
  return out;
}

double ModeResult::IterationsPerSecond() const {
  double secs = absl::ToDoubleSeconds(wall);
  return secs > 0 ? static_cast<double>(iterations) / secs : 0;
}

double ModeResult::CallsPerSecond() const { return IterationsPerSecond() * calls_per_iteration; }

std::string FormatText(const Report& report) {
  std::string out = absl::StrFormat("%s: one iteration = %s\n  daemon %s, namespace \"%s\"\n",
                                    report.scenario, report.description, report.address, report.ns);
  for (const ModeResult& m : report.modes) {
    absl::StrAppendFormat(&out,
                          "\n%s (%d client%s): %d iterations in %.3f s = %.1f iterations/s, "
                          "%.1f calls/s\n",
                          m.mode, m.clients, m.clients == 1 ? "" : "s", m.iterations,
                          absl::ToDoubleSeconds(m.wall), m.IterationsPerSecond(),
                          m.CallsPerSecond());
    absl::StrAppendFormat(&out, "  %-22s %8s %10s %10s %10s %10s\n", "rpc", "count", "mean us",
                          "p50 us", "p99 us", "max us");
    for (const RpcSummary& r : m.rpcs) {
      absl::StrAppendFormat(&out, "  %-22s %8d %10.1f %10.1f %10.1f %10.1f\n", r.rpc, r.count,
                            r.mean_us, r.p50_us, r.p99_us, r.max_us);
    }
  }
  return out;
}

nlohmann::ordered_json ToJson(const Report& report) {
  nlohmann::ordered_json modes = nlohmann::ordered_json::array();
  for (const ModeResult& m : report.modes) {
    nlohmann::ordered_json rpcs = nlohmann::ordered_json::object();
    for (const RpcSummary& r : m.rpcs) {
      rpcs[r.rpc] = nlohmann::ordered_json{{"count", r.count},
                                           {"mean_us", Round1(r.mean_us)},
                                           {"p50_us", Round1(r.p50_us)},
                                           {"p99_us", Round1(r.p99_us)},
                                           {"max_us", Round1(r.max_us)}};
    }
    modes.push_back(
        nlohmann::ordered_json{{"mode", m.mode},
                               {"clients", m.clients},
                               {"iterations", m.iterations},
                               {"calls", m.iterations * m.calls_per_iteration},
                               {"wall_s", std::round(absl::ToDoubleSeconds(m.wall) * 1e6) / 1e6},
                               {"iterations_per_s", Round1(m.IterationsPerSecond())},
                               {"calls_per_s", Round1(m.CallsPerSecond())},
                               {"rpcs", std::move(rpcs)}});
  }
  return nlohmann::ordered_json{{"scenario", report.scenario},
                                {"description", report.description},
                                {"address", report.address},
                                {"namespace", report.ns},
                                {"modes", std::move(modes)}};
}

}  // namespace berth::bench
