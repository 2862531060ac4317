#include "runtime/shim_binary.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "sys/process.h"

namespace berth::runtime {

namespace {

bool IsExecutable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::vector<std::string> Args(const ShimCommand& cmd) {
  std::vector<std::string> args = {cmd.binary,     "-namespace",     cmd.ns,
                                   "-address",     cmd.address,      "-publish-binary",
                                   cmd.publish_binary, "-id",        cmd.id};
  if (cmd.debug) args.push_back("-debug");
  return args;
}

// The shim's own words when it fails: its combined output, trimmed.
std::string Output(const sys::RunResult& r) {
  return std::string(absl::StripAsciiWhitespace(absl::StrCat(r.out, r.err)));
}

}  // namespace

std::string ShimBinaryName(absl::string_view runtime) {
  std::vector<absl::string_view> parts = absl::StrSplit(runtime, '.');
  if (parts.size() < 2) return "";
  return absl::StrCat("containerd-shim-", parts[parts.size() - 2], "-", parts.back());
}

absl::StatusOr<std::string> ResolveShimBinary(absl::string_view runtime,
                                              const std::string& self_dir) {
  if (runtime.empty()) return ErrInvalidArgument("no runtime name");
  if (runtime[0] == '/') {
    if (!IsExecutable(std::string(runtime))) {
      return ErrNotFound(absl::StrCat("invalid custom binary path ", runtime));
    }
    return std::string(runtime);
  }
  const std::string name = ShimBinaryName(runtime);
  if (name.empty()) {
    return ErrInvalidArgument(absl::StrCat(
        "invalid runtime name ", runtime,
        ", correct runtime name should be either format like `io.containerd.runc.v1` or a full "
        "path to the binary"));
  }
  if (!self_dir.empty() && IsExecutable(absl::StrCat(self_dir, "/", name))) {
    return absl::StrCat(self_dir, "/", name);
  }
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    if (dir.empty() || dir[0] != '/') continue;
    std::string candidate = absl::StrCat(dir, "/", name);
    if (IsExecutable(candidate)) return candidate;
  }
  return ErrNotFound(absl::StrCat("runtime \"", runtime, "\" binary not installed \"", name, "\""));
}

absl::StatusOr<std::string> StartShim(const ShimCommand& cmd, const Bundle& bundle,
                                      const google::protobuf::Any* options) {
  std::vector<std::string> args = Args(cmd);
  args.push_back("start");
  sys::RunOptions o;
  o.cwd = bundle.path;
  o.env = {{"TTRPC_ADDRESS", cmd.ttrpc_address}};
  if (options != nullptr) o.stdin_data = options->SerializeAsString();
  o.timeout = absl::Seconds(30);
  ASSIGN_OR_RETURN(sys::RunResult r, sys::RunProcess(args, o));
  if (r.exit_code != 0) {
    return absl::UnknownError(absl::StrCat(cmd.binary, " start: exit status ", r.exit_code, ": ",
                                           Output(r)));
  }
  std::string address(absl::StripAsciiWhitespace(r.out));
  if (address.empty()) {
    return absl::UnknownError(absl::StrCat(cmd.binary, " start printed no address: ", Output(r)));
  }
  return address;
}

absl::StatusOr<containerd::task::v2::DeleteResponse> DeleteShim(const ShimCommand& cmd,
                                                                 const Bundle& bundle) {
  std::vector<std::string> args = Args(cmd);
  args.insert(args.end(), {"-bundle", bundle.path, "delete"});
  sys::RunOptions o;
  o.cwd = bundle.path;
  o.env = {{"TTRPC_ADDRESS", cmd.ttrpc_address}};
  o.timeout = absl::Seconds(10);
  ASSIGN_OR_RETURN(sys::RunResult r, sys::RunProcess(args, o));
  if (r.exit_code != 0) {
    return absl::UnknownError(absl::StrCat(cmd.binary, " delete: exit status ", r.exit_code,
                                           ": ", absl::StripAsciiWhitespace(r.err)));
  }
  containerd::task::v2::DeleteResponse resp;
  if (!resp.ParseFromString(r.out)) {
    return absl::UnknownError(absl::StrCat(cmd.binary, " delete: unreadable response"));
  }
  return resp;
}

}  // namespace berth::runtime
