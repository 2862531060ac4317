// A process's stdio as the client names it (CreateTaskRequest / ExecProcessRequest) and the
// forms containerd accepts for it (pkg/process/io.go):
//   - ""                 nothing: the process gets /dev/null
//   - a path (or fifo://) a FIFO the client reads/writes (or a regular file, appended to)
//   - file:///path       stdout and stderr appended to one file (created with its directory)
//   - binary:///path?k=v a logging binary started by the shim: it gets the process's stdout on
//                        fd 3 and stderr on fd 4, signals readiness by closing (or writing to)
//                        fd 5, and runs with CONTAINER_ID and CONTAINER_NAMESPACE only in its
//                        environment; the query's keys and values become its arguments
// The stdout URI decides the form; stdin is always a FIFO path (or "").
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::shim {

struct Stdio {
  std::string stdin_path;
  std::string stdout_path;
  std::string stderr_path;
  bool terminal = false;

  bool IsNull() const { return stdin_path.empty() && stdout_path.empty() && stderr_path.empty(); }
};

struct StdioUri {
  enum class Scheme { kFifo, kFile, kBinary };
  Scheme scheme = Scheme::kFifo;
  std::string path;  // percent-decoded
  // binary: the query's key/value pairs in order (a key without '=' has an empty value).
  std::vector<std::pair<std::string, std::string>> args;
};

// Parses an stdout URI like Go's url.Parse does for these forms. InvalidArgument ("unknown STDIO
// scheme x") for another scheme, or a malformed escape.
absl::StatusOr<StdioUri> ParseStdioUri(absl::string_view uri);

// The logging binary's argv after its path: each key, then its value.
std::vector<std::string> BinaryArgs(const StdioUri& uri);

}  // namespace berth::shim
