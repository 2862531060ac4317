// berth-bench: a benchmark client speaking containerd's API, so the same figures can be taken
// from berthd and from a real containerd.
//
//   berth-bench --address SOCK [--namespace bench] SCENARIO [--count N] [--clients N] [--json]
//
// Scenarios are listed in kScenarios below; each lives in bench/scenario_<name>.cc.
// Exit codes: 0 success, 1 a call failed (message on stderr), 2 bad usage.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "scenario.h"
#include "scenarios.h"

namespace berth::bench {
namespace {

constexpr Scenario kScenarios[] = {
    {"containers", "Containers/Create + Get + Delete of a ctr-like container (metadata path)",
     RunContainers},
    {"gc-stall", "probe latency while Leases/Delete(sync) collects --count blobs", RunGcStall},
    {"run", "create, start, wait, delete of a /bin/true container (ctr run --rm, real runc)",
     RunRun},
};

const Scenario* FindScenario(std::string_view name) {
  for (const Scenario& s : kScenarios) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

// Fails fast when there is no socket at all (Connect would wait for its timeout).
absl::Status CheckSocket(const std::string& address) {
  std::string path = address;
  if (absl::StartsWith(path, "unix://")) path = path.substr(7);
  std::error_code ec;
  if (!std::filesystem::is_socket(path, ec)) {
    return absl::UnavailableError(absl::StrCat("no socket at ", path, ": is the daemon running?"));
  }
  return absl::OkStatus();
}

// Asks the daemon who it is, which also proves it answers before any figure is taken.
absl::StatusOr<std::string> ServerVersion(const BenchOptions& options) {
  if (absl::Status s = CheckSocket(options.address); !s.ok()) return s;
  client::Options copts;
  copts.address = options.address;
  copts.ns = options.ns;
  copts.timeout = absl::Seconds(10);
  auto c = client::Client::Connect(copts);
  if (!c.ok()) return c.status();
  google::protobuf::Empty req;
  containerd::services::version::v1::VersionResponse resp;
  grpc::Status s = (*c)->version().Version((*c)->NewContext().get(), req, &resp);
  if (!s.ok()) return client::FromGrpc(s);
  return absl::StrCat(resp.version(), " (", resp.revision(), ")");
}

int Main(int argc, char** argv) {
  CLI::App app{"berth-bench: benchmarks a daemon speaking containerd's API (berthd or containerd)"};
  BenchOptions options;
  options.address = client::kDefaultAddress;
  options.ns = "bench";
  std::string scenario_name;
  bool json = false;
  bool list = false;

  std::vector<std::string> names;
  std::string scenario_help = "scenario to run:";
  for (const Scenario& s : kScenarios) {
    names.emplace_back(s.name);
    absl::StrAppend(&scenario_help, "\n  ", std::string(s.name), ": ", std::string(s.summary));
  }

  app.add_option("-a,--address", options.address, "daemon socket (berthd or containerd)")
      ->capture_default_str();
  app.add_option("-n,--namespace", options.ns, "containerd namespace to work in")
      ->capture_default_str();
  app.add_option("scenario", scenario_name, scenario_help)->check(CLI::IsMember(names));
  app.add_option("-c,--count", options.count, "iterations per mode")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{100'000'000}));
  app.add_option("--clients", options.clients,
                 "clients (threads, connections) of the concurrent mode")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--warmup", options.warmup, "unmeasured iterations before the first mode")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{100'000'000}));
  app.add_flag("--json", json, "print one JSON object instead of tables");
  app.add_flag("--list", list, "list the scenarios and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (list) {
    for (const Scenario& s : kScenarios) std::cout << s.name << "\t" << s.summary << "\n";
    return 0;
  }
  const Scenario* scenario = FindScenario(scenario_name);
  if (scenario == nullptr) {
    std::cerr << "berth-bench: a scenario is required (--list shows them)\n";
    return 2;
  }

  auto server = ServerVersion(options);
  if (!server.ok()) {
    std::cerr << "berth-bench: " << server.status().message() << "\n";
    return 1;
  }
  auto report = scenario->run(options);
  if (!report.ok()) {
    std::cerr << "berth-bench: " << scenario->name << ": " << report.status().message() << "\n";
    return 1;
  }
  report->address = options.address;
  report->ns = options.ns;
  if (json) {
    nlohmann::ordered_json j = ToJson(*report);
    j["server_version"] = *server;
    j["count"] = options.count;
    j["clients"] = options.clients;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "server " << *server << "\n" << FormatText(*report);
  }
  return 0;
}

}  // namespace
}  // namespace berth::bench

int main(int argc, char** argv) { return berth::bench::Main(argc, argv); }
