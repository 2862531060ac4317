// The shim's command line, parsed with Go's `flag` package rules, as containerd invokes shims:
//
//   containerd-shim-berth-v2 -namespace NS -address SOCK -publish-binary BIN -id ID
//                            [-bundle DIR] [-debug] [-socket PATH] [-v] [start|delete]
//
// Go's rules: a flag is "-name" or "--name", its value the next argument or after "=" in the
// same one; a boolean flag takes no separate value ("-debug", "-debug=false"); parsing stops at
// the first non-flag argument or at "--", and that argument is the action.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth::shim {

struct Flags {
  std::string namespace_;                     // -namespace
  std::string address;                        // -address: the daemon's gRPC socket
  std::string publish_binary = "containerd";  // -publish-binary
  std::string id;                             // -id
  std::string bundle;                         // -bundle (else the working directory)
  std::string socket;                         // -socket: serve on this path instead of fd 3
  bool debug = false;                         // -debug
  bool version = false;                       // -v
  std::string action;                         // "start", "delete" or "" (serve)
};

// Parses argv[1..]. InvalidArgument with Go's wording ("flag provided but not defined: -x",
// "flag needs an argument: -id", "invalid boolean value ...") on a bad command line.
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args);

// The arguments that start the serving shim with the same identity (no action).
std::vector<std::string> ServeArgs(const Flags& flags);

}  // namespace berth::shim
