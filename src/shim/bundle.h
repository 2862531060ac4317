// The shim's view of a task bundle (the directory containerd or berthd prepared, the shim's
// working directory): where its socket lives, the files it reads and writes there, and the rootfs
// mount. Files in the bundle, as containerd's runc shim lays them out:
//
//   config.json    the OCI spec (read: group annotations, pid namespace)
//   address        written by `start`: "unix:///<socket>"
//   options.json   written by Create: the runtime options (containerd.runc.v1.Options as JSON
//                  with the proto field names), read back by `delete` after a shim crash
//   runtime        written by Create: the OCI runtime binary name (containerd writes it too)
//   init.pid       written by the OCI runtime: the container's init pid
//   <exec>.pid     written by the OCI runtime for each exec'd process
//   log.json       the OCI runtime's JSON log (errors come from its last "error" entry)
//   rootfs/        the task's rootfs mounts
//   log            FIFO created by the daemon; the serving shim's stderr goes there
//
// Thread-safety: pure functions over the file system.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "google/protobuf/any.pb.h"

namespace berth::shim {

// Type URL of the runtime options (a bare name, as containerd's typeurl registers it).
inline constexpr absl::string_view kOptionsTypeUrl = "containerd.runc.v1.Options";

// The socket a shim serves on: <dir(address)>/s/<sha256 hex of "address/ns/group">, as
// containerd's shim.SocketAddress names it. InvalidArgument when the path does not fit a unix
// socket address (107 bytes).
absl::StatusOr<std::string> SocketPath(absl::string_view address, absl::string_view ns,
                                       absl::string_view group);

// The id the shim is shared under: the value of the annotation "io.containerd.runc.v2.group" or
// "io.kubernetes.cri.sandbox-id" in config.json, else `id`. Errors reading config.json are
// returned (containerd fails `start` without a spec too).
absl::StatusOr<std::string> GroupId(const std::string& bundle, const std::string& id);

// Whether the container's processes must be killed when its init exits: true unless the spec
// gives the container its own, new pid namespace (the kernel then kills them), and true when the
// spec cannot be read (containerd's ShouldKillAllOnExit).
bool ShouldKillAllOnExit(const std::string& bundle);

// Decodes CreateTaskRequest.options: empty -> defaults; containerd.runc.v1.Options -> them;
// any other type -> InvalidArgument.
absl::StatusOr<containerd::runc::v1::Options> ParseOptions(const google::protobuf::Any& any);

// <dir(address)>/runc: where runc keeps container state unless the options name a root (the
// namespace is appended to either). For containerd's /run/containerd/containerd.sock this is
// containerd's own default, /run/containerd/runc.
std::string DefaultRuntimeRoot(absl::string_view address);

// options.json and runtime, written at Create for `delete`.
absl::Status WriteOptions(const std::string& bundle, const containerd::runc::v1::Options& opts);
// NotFound if the bundle has no options.json.
absl::StatusOr<containerd::runc::v1::Options> ReadOptions(const std::string& bundle);

// Reads a pid file written by the OCI runtime; InvalidArgument if it holds no positive number.
absl::StatusOr<int> ReadPidFile(const std::string& path);

// Writes `address` to <bundle>/address atomically (temp file + rename).
absl::Status WriteAddress(const std::string& bundle, const std::string& address);

std::string JoinPath(absl::string_view dir, absl::string_view name);

}  // namespace berth::shim
