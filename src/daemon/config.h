// berthd's configuration: TOML at /etc/berth/config.toml (or --config), overridden by flags.
// Unknown keys are an error naming the key, so a typo never silently falls back to a default.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "base/log.h"

namespace berth::daemon {

struct Config {
  std::string root = "/var/lib/berth";
  std::string state = "/run/berth";
  struct Grpc {
    std::string address = "/run/berth/berthd.sock";
    int uid = 0;
    int gid = 0;
  } grpc;
  struct Debug {
    std::string level = "info";
  } debug;
  struct Metadata {
    // "normal": a commit survives a killed daemon; "full": also a power loss (fsync per commit).
    std::string sync = "normal";
  } metadata;
  struct Runtime {
    // Which shim serves io.containerd.runc.v2 (what ctr and dockerd ask for): "berth" (ours,
    // containerd-shim-berth-v2) or "containerd" (containerd-shim-runc-v2 from PATH).
    std::string runc_shim = "berth";
  } runtime;
};

inline constexpr char kDefaultConfigPath[] = "/etc/berth/config.toml";

// Parses TOML text. InvalidArgument naming the key for unknown keys or wrong types.
absl::StatusOr<Config> ParseConfig(absl::string_view toml, absl::string_view source_name);
// Reads and parses `path`. A missing file is NotFound.
absl::StatusOr<Config> LoadConfig(const std::string& path);
// The defaults, as TOML (what `berthd config default` prints).
std::string DefaultConfigToml();
// Checks values (absolute paths, known log level and sync mode).
absl::Status Validate(const Config& config);

}  // namespace berth::daemon
