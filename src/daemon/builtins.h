// The list of plugins berthd runs, in initialisation order. Types and ids are containerd's, so
// clients probing Introspection find what they expect. This list is the only registration point:
// no static initializers.
#pragma once

#include <functional>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace berth::daemon {

class Daemon;

struct Builtin {
  absl::string_view type;
  absl::string_view id;
  std::vector<absl::string_view> requires_;
  // Wires the plugin into the daemon (e.g. registers its gRPC service). An error marks the plugin
  // as failed in Introspection and the daemon carries on without it, like containerd.
  std::function<absl::Status(Daemon&)> init;
};

std::vector<Builtin> Builtins();

}  // namespace berth::daemon
