// The frame every berth command runs in.
//
// main builds one CLI11 subcommand per noun from a table; each noun's Setup function adds its
// verbs, and the verb the user chose stores its work as an Action while parsing. Once parsing
// succeeded, main runs that Action with an Env (global options and a client connected on first
// use) and turns its status into the exit code: 0, or 1 with "berth: <message>" on stderr.
// Thread-safety: single-threaded, like the CLI.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"

namespace berth::cli {

inline constexpr char kAddressEnv[] = "BERTH_ADDRESS";
inline constexpr char kNamespaceEnv[] = "BERTH_NAMESPACE";
inline constexpr char kSnapshotterEnv[] = "BERTH_SNAPSHOTTER";

// The snapshotter verbs use unless --snapshotter is given: $BERTH_SNAPSHOTTER, else overlayfs.
std::string DefaultSnapshotter();

struct GlobalOptions {
  std::string address = client::kDefaultAddress;
  std::string ns = client::kDefaultNamespace;
  std::string timeout;  // a Go duration; empty = no deadline
  bool debug = false;
};

class Env {
 public:
  explicit Env(GlobalOptions options) : options_(std::move(options)) {}

  // The client, connected on first use. Unavailable when nothing listens at the address.
  absl::StatusOr<client::Client*> Client();

  const GlobalOptions& options() const { return options_; }
  // Writes "berth: debug: <message>" to stderr when --debug is set.
  void Debug(std::string_view message) const;

 private:
  GlobalOptions options_;
  std::unique_ptr<client::Client> client_;
};

// A verb's work: runs after parsing, prints its results to stdout and returns its status.
using Action = std::function<absl::Status(Env&)>;

// Adds a noun's verbs to `noun` (or, for a noun without verbs, its own options); the verb the
// user picks stores its Action in *action.
void SetupNamespaces(CLI::App& noun, Action* action);
void SetupContainers(CLI::App& noun, Action* action);
void SetupLeases(CLI::App& noun, Action* action);
void SetupEvents(CLI::App& noun, Action* action);
void SetupPlugins(CLI::App& noun, Action* action);
void SetupVersion(CLI::App& noun, Action* action);
void SetupImages(CLI::App& noun, Action* action);
void SetupContent(CLI::App& noun, Action* action);
void SetupSnapshots(CLI::App& noun, Action* action);
void SetupPrune(CLI::App& noun, Action* action);

// Prints "berth: <message>" to stderr (with the status code too when `debug`).
void PrintError(const absl::Status& status, bool debug = false);

// Runs `op` on each of `ids` in order, printing each id that succeeded to stdout and each
// failure as "berth: <message>" to stderr, and goes on past failures. Returns OK when all
// succeeded, else a status for which IsReported() holds (main prints nothing more, exits 1).
absl::Status ForEachId(const std::vector<std::string>& ids, bool debug,
                       const std::function<absl::Status(const std::string&)>& op);

// A failure whose details were already printed.
absl::Status ReportedError(std::string_view summary);
bool IsReported(const absl::Status& status);

}  // namespace berth::cli
