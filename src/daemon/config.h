// berthd's configuration: TOML at /etc/berth/config.toml (or --config), overridden by flags.
//
// A containerd 1.6 config.toml loads: besides berthd's own sections it reads one of containerd's
// plugin tables, with containerd's key names and value types ([plugins."io.containerd.gc.v1.scheduler"]),
// and `required_plugins`. Keys containerd has and berthd does not use (`oom_score`, `[ttrpc]`,
// `disabled_plugins`, grpc.tcp_address, the tables of plugins berthd does not have such as cri,
// ...) are listed in Config::ignored, which berthd logs as warnings at start. A key neither
// containerd nor berthd knows is an error naming it, so a typo never silently falls back to a
// default.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
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
  // [plugins."io.containerd.gc.v1.scheduler"]: when garbage collection runs; the rules are
  // metadata/gc_scheduler.h's (containerd's). Durations are strings in Go's syntax ("100ms").
  struct GcScheduler {
    double pause_threshold = 0.02;                         // 0 to 0.5
    int deletion_threshold = 0;                            // >= 0
    int mutation_threshold = 100;                          // >= 0
    absl::Duration schedule_delay = absl::ZeroDuration();  // >= 0
    // Unset (the default): berthd collects once before it serves the socket, so that a timed
    // collection cannot race a client's first writes. Set: containerd's behaviour, a first
    // collection this long after the scheduler starts ("0s": none until something triggers one).
    std::optional<absl::Duration> startup_delay;  // >= 0
  } gc_scheduler;
  // containerd's `required_plugins` ("type.id"): berthd refuses to start unless it has each one.
  std::vector<std::string> required_plugins;
  // Keys read from the file that berthd does not use, named as in messages
  // (`"oom_score"`, `plugins."io.containerd.grpc.v1.cri"`), with why, for warnings.
  struct Ignored {
    std::string key;
    std::string why;
  };
  std::vector<Ignored> ignored;
};

// The plugin id of the garbage collection scheduler's table under [plugins].
inline constexpr char kGcSchedulerPlugin[] = "io.containerd.gc.v1.scheduler";

inline constexpr char kDefaultConfigPath[] = "/etc/berth/config.toml";

// Parses TOML text. InvalidArgument naming the key for keys neither containerd nor berthd knows,
// wrong types, integers out of range and durations that Go's time.ParseDuration would not take.
absl::StatusOr<Config> ParseConfig(absl::string_view toml, absl::string_view source_name);
// Reads and parses `path`. A missing file is NotFound.
absl::StatusOr<Config> LoadConfig(const std::string& path);
// The defaults, as TOML (what `berthd config default` prints).
std::string DefaultConfigToml();
// Checks values (absolute paths, known log level and sync mode, the gc scheduler's ranges; where
// containerd clamps an out-of-range scheduler value, berthd refuses it). InvalidArgument naming
// the key.
absl::Status Validate(const Config& config);

}  // namespace berth::daemon
