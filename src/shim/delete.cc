// The `delete` action (see actions.h): cleanup after a shim that died, from what Create left in
// the bundle (options.json, init.pid).
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/time.h"
#include "base/status.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/actions.h"
#include "shim/bundle.h"
#include "shim/runc.h"
#include "sys/mount.h"

namespace berth::shim {
namespace {

void Warn(absl::string_view what, const absl::Status& st) {
  std::fprintf(stderr, "%s: %s\n", std::string(what).c_str(), st.ToString().c_str());
}

}  // namespace

int RunDelete(const Flags& flags) {
  if (flags.namespace_.empty() || flags.id.empty()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: delete needs -namespace and -id\n");
    return 1;
  }
  std::string bundle = flags.bundle;
  if (bundle.empty()) {
    char buf[4096];
    if (::getcwd(buf, sizeof(buf)) == nullptr) {
      std::perror("getcwd");
      return 1;
    }
    bundle = buf;
  }
  containerd::runc::v1::Options opts;
  if (auto read = ReadOptions(bundle); read.ok()) {
    opts = *std::move(read);
  } else if (read.status().code() != absl::StatusCode::kNotFound) {
    Warn("read options.json", read.status());
  }
  RuncConfig config;
  config.binary = opts.binary_name().empty() ? "runc" : opts.binary_name();
  config.root = JoinPath(opts.root().empty() ? DefaultRuntimeRoot(flags.address) : opts.root(),
                         flags.namespace_);
  config.log_path = JoinPath(bundle, "log.json");
  Runc runc(config);
  if (absl::Status st = runc.Delete(flags.id, /*force=*/true); !st.ok()) {
    Warn("failed to remove runc container", st);
  }
  if (absl::Status st = sys::UnmountAll(JoinPath(bundle, "rootfs")); !st.ok()) {
    Warn("failed to cleanup rootfs mount", st);
  }
  int pid = 0;
  if (auto read = ReadPidFile(JoinPath(bundle, "init.pid")); read.ok()) {
    pid = *read;
  } else {
    Warn("failed to read init pid file", read.status());
  }
  containerd::task::v2::DeleteResponse resp;
  resp.set_pid(pid);
  resp.set_exit_status(128 + SIGKILL);
  *resp.mutable_exited_at() = api::ToTimestamp(absl::Now());
  std::string out = resp.SerializeAsString();
  if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0) {
    std::perror("write DeleteResponse");
    return 1;
  }
  return 0;
}

}  // namespace berth::shim
