// What a benchmark scenario is, and the options every scenario receives.
//
// Scenarios are listed explicitly in main.cc (kScenarios); each lives in its own
// scenario_<name>.cc and exposes one Run function.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "report.h"

namespace berth::bench {

struct BenchOptions {
  std::string address;   // daemon socket (berthd or containerd)
  std::string ns;        // containerd namespace the scenario works in
  int64_t count = 1000;  // iterations per mode; concurrent modes split them among the clients
  int clients = 10;      // clients of the concurrent mode, each with its own connection
  int64_t warmup = 10;   // iterations run (and discarded) before the first measured mode
};

struct Scenario {
  std::string_view name;
  std::string_view summary;  // one line for --help / --list
  // Runs every mode of the scenario. Any failed RPC aborts it: the returned status names the
  // call, the object and the daemon's error. Fills report.modes (main fills the rest).
  absl::StatusOr<Report> (*run)(const BenchOptions& options);
};

}  // namespace berth::bench
