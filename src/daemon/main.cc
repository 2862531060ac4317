// berthd: the daemon's entry point. Flags override the config file; `berthd config default`
// prints the defaults. SIGTERM/SIGINT stop accepting calls, let in-flight ones finish and exit 0.

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "absl/time/clock.h"
#include "base/log.h"
#include "base/version.h"
#include "daemon/config.h"
#include "daemon/daemon.h"

namespace {

using berth::daemon::Config;

int Fail(const absl::Status& status) {
  berth::log::Error("berthd failed", {{"error", status.ToString()}});
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::Time started = absl::Now();
  CLI::App app{"berthd: a containerd-compatible container daemon"};
  app.set_version_flag("-v,--version", std::string(berth::kVersion) + " " + berth::kRevision);
  std::string config_path;
  std::string root, state, address, log_level;
  app.add_option("-c,--config", config_path, "path to the configuration file")
      ->capture_default_str();
  app.add_option("--root", root, "persistent state directory");
  app.add_option("--state", state, "volatile state directory");
  app.add_option("-a,--address", address, "gRPC socket path");
  app.add_option("-l,--log-level", log_level, "trace, debug, info, warn or error");
  CLI::App* config_cmd = app.add_subcommand("config", "configuration helpers");
  config_cmd->add_subcommand("default", "print the default configuration");
  config_cmd->require_subcommand(1);
  CLI11_PARSE(app, argc, argv);

  if (config_cmd->parsed()) {
    std::cout << berth::daemon::DefaultConfigToml();
    return 0;
  }

  Config config;
  if (!config_path.empty()) {
    auto loaded = berth::daemon::LoadConfig(config_path);
    if (!loaded.ok()) return Fail(loaded.status());
    config = *loaded;
  } else if (::access(berth::daemon::kDefaultConfigPath, F_OK) == 0) {
    auto loaded = berth::daemon::LoadConfig(berth::daemon::kDefaultConfigPath);
    if (!loaded.ok()) return Fail(loaded.status());
    config = *loaded;
  }
  if (!root.empty()) config.root = root;
  if (!state.empty()) config.state = state;
  if (!address.empty()) config.grpc.address = address;
  if (!log_level.empty()) config.debug.level = log_level;
  if (absl::Status s = berth::daemon::Validate(config); !s.ok()) return Fail(s);
  berth::log::SetLevel(*berth::log::ParseLevel(config.debug.level));
  for (const Config::Ignored& ignored : config.ignored) {
    berth::log::Warn("configuration key ignored", {{"key", ignored.key}, {"why", ignored.why}});
  }

  // Few malloc arenas: gRPC runs handlers on many threads, and per-thread arenas would multiply
  // the idle footprint for no gain at this daemon's allocation rates.
  mallopt(M_ARENA_MAX, 2);

  // Block the handled signals before any thread exists, so every thread inherits the mask and
  // only sigwait below sees them. A client hanging up (SIGPIPE) must not kill the daemon, and
  // neither must SIGUSR1, which containerd users send to ask for a stack dump.
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGTERM);
  sigaddset(&handled, SIGINT);
  sigaddset(&handled, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &handled, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto daemon = berth::daemon::Daemon::Start(config);
  if (!daemon.ok()) return Fail(daemon.status());
  berth::log::Info("berthd successfully booted",
                   {{"address", config.grpc.address},
                    {"root", config.root},
                    {"version", berth::kVersion},
                    {"took", absl::FormatDuration(absl::Now() - started)}});

  int sig = 0;
  while (sigwait(&handled, &sig) == 0 && sig == SIGUSR1) {
    berth::log::Info("received SIGUSR1: berthd has no stack dump; use gdb -p or eu-stack",
                     {{"pid", getpid()}});
  }
  berth::log::Info("stopping", {{"signal", strsignal(sig)}});
  // In-flight calls get a moment to finish; after it they are cancelled. Waiting longer buys
  // nothing: idle clients acknowledge the server's GOAWAY only at their next poll (seconds), and
  // containerd itself stops at once.
  (*daemon)->Stop(absl::Seconds(1));
  daemon->reset();
  berth::log::Info("stopped");
  return 0;
}
