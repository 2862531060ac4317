// berth: the command-line client of berthd. It speaks containerd's API, so it drives a real
// containerd just as well. One noun per file; this file holds the table of nouns and turns the
// chosen verb's status into the exit code: 0 ok, 1 an error (from the daemon or the command),
// 2 a usage error.

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <vector>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/interrupt.h"

namespace berth::cli {
namespace {

struct Noun {
  const char* name;
  std::vector<const char*> aliases;
  const char* description;
  void (*setup)(CLI::App& noun, Action* action);
};

const Noun kNouns[] = {
    {"containers", {"c", "container"}, "Manage containers (metadata)", SetupContainers},
    {"content", {}, "Manage the content store (blobs)", SetupContent},
    {"events", {"event"}, "Print the daemon's events as they happen", SetupEvents},
    {"images", {"i", "image"}, "Manage images: list, import, export, check, remove", SetupImages},
    {"leases", {"lease"}, "Manage leases", SetupLeases},
    {"namespaces", {"ns", "namespace"}, "Manage namespaces", SetupNamespaces},
    {"plugins", {"plugin"}, "Inspect the daemon's plugins", SetupPlugins},
    {"prune", {}, "Remove images no container uses and collect garbage", SetupPrune},
    {"snapshots", {"snapshot"}, "Manage snapshots", SetupSnapshots},
    {"version", {}, "Print the client and daemon versions", SetupVersion},
};

constexpr int kUsageExitCode = 2;

std::string EnvOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

int Main(int argc, char** argv) {
  StartInterruptWatcher();
  // Write errors (a closed pipe) are handled where output is written.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app("berth: the command-line client of berthd (and of containerd)", "berth");
  app.failure_message(CLI::FailureMessage::help);
  // Global flags may follow the verb (`berth ns ls -n foo`).
  app.fallthrough();
  // Exactly one subcommand per level also keeps positional arguments (a namespace called
  // "events") from being read as a sibling command.
  app.require_subcommand(1);

  GlobalOptions globals;
  globals.address = EnvOr(kAddressEnv, globals.address);
  globals.ns = EnvOr(kNamespaceEnv, globals.ns);
  app.add_option("-a,--address", globals.address,
                 "Daemon socket (env " + std::string(kAddressEnv) + ")")
      ->capture_default_str();
  app.add_option("-n,--namespace", globals.ns,
                 "Namespace to use (env " + std::string(kNamespaceEnv) + ")")
      ->capture_default_str();
  app.add_option("--timeout", globals.timeout, "Deadline of each call, e.g. 10s (default none)")
      ->check([](const std::string& text) {
        absl::StatusOr<absl::Duration> d = ParseDuration(text);
        return d.ok() ? std::string() : std::string(d.status().message());
      });
  app.add_flag("--debug", globals.debug, "Print debug information to stderr");

  Action action;
  for (const Noun& noun : kNouns) {
    CLI::App* sub = app.add_subcommand(noun.name, noun.description);
    for (const char* alias : noun.aliases) sub->alias(alias);
    noun.setup(*sub, &action);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kUsageExitCode;
  }
  if (!action) {
    std::cerr << app.help();
    return kUsageExitCode;
  }

  Env env(globals);
  absl::Status status = action(env);
  std::cout.flush();
  if (!status.ok()) {
    if (!IsReported(status)) PrintError(status, globals.debug);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace berth::cli

int main(int argc, char** argv) { return berth::cli::Main(argc, argv); }
