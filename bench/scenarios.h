// The Run function of every scenario; the table that names them is kScenarios in main.cc.
#pragma once

#include "absl/status/statusor.h"
#include "report.h"
#include "scenario.h"

namespace berth::bench {

// containers: Containers/Create + Get + Delete of a container as `ctr run` would create it.
absl::StatusOr<Report> RunContainers(const BenchOptions& options);

// gc-stall: probe latency (Version, Content/Info, Content/Update) while --count blobs are
// garbage-collected by Leases/Delete with sync.
absl::StatusOr<Report> RunGcStall(const BenchOptions& options);

// run: the life of a /bin/true container of berth.test/busybox:latest as `ctr run --rm` drives
// it (create, start, wait, delete through the Tasks service and the daemon's runc shim), timed by
// phase and by RPC; sequential and with --clients clients.
absl::StatusOr<Report> RunRun(const BenchOptions& options);

}  // namespace berth::bench
