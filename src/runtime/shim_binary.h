// Running a shim binary's one-shot actions, as containerd's v2 runtime does:
//
//   <binary> -namespace NS -address GRPC_SOCK -publish-binary BERTHD -id ID start
//       cwd = bundle, stdin = the runtime options (a marshalled google.protobuf.Any),
//       env TTRPC_ADDRESS = where the shim forwards events. Prints the shim's ttrpc address.
//   <binary> -namespace NS -address ... -id ID -bundle DIR delete
//       cleans up after a dead shim; prints a marshalled containerd.task.v2.DeleteResponse.
//
// Runtime names resolve like containerd's: an absolute path is the binary itself;
// "io.containerd.<name>.<version>" is `containerd-shim-<name>-<version>`, looked for next to
// berthd, then in PATH.
//
// Thread-safety: pure functions (they block while the child runs).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/any.pb.h"
#include "runtime/bundle.h"

namespace berth::runtime {

// "io.containerd.runc.v2" -> "containerd-shim-runc-v2"; "" if the name has fewer than two
// dot-separated parts.
std::string ShimBinaryName(absl::string_view runtime);

// The absolute path of the shim for `runtime`, looking in `self_dir` first, then PATH.
// NotFound ("runtime X binary not installed Y: not found") when there is none.
absl::StatusOr<std::string> ResolveShimBinary(absl::string_view runtime,
                                              const std::string& self_dir);

struct ShimCommand {
  std::string binary;          // absolute path
  std::string ns;
  std::string id;
  std::string address;         // berthd's gRPC socket
  std::string ttrpc_address;   // berthd's ttrpc socket (events)
  std::string publish_binary;  // berthd itself
  bool debug = false;
};

// Runs `start`; returns the address the shim printed ("unix:///...").
absl::StatusOr<std::string> StartShim(const ShimCommand& cmd, const Bundle& bundle,
                                      const google::protobuf::Any* options);

// Runs `delete` for a dead shim and parses its answer.
absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const ShimCommand& cmd,
                                                                 const Bundle& bundle);

}  // namespace berth::runtime
