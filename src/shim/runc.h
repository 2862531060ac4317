// Invoking the OCI runtime (runc, or a runc-compatible one: crun) the way containerd's go-runc
// does: global flags `--root <root>/<ns> --log <bundle>/log.json --log-format json
// [--systemd-cgroup] [--criu PATH]`, then the command. Each invocation runs synchronously (the
// shim's loop waits for it, briefly) and is waited for by pid, so its exit never reaches the
// reaper.
//
// Errors are Unknown with the runtime's own message: the last "error" entry it appended to
// log.json during the failed invocation, else its stderr/stdout, else "exit status N" -- as
// containerd's runtimeError does, minus messages left in the log by earlier invocations.
//
// Thread-safety: loop thread only (blocks it while the runtime runs).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::shim {

struct RuncConfig {
  std::string binary = "runc";  // a name looked up in PATH, or a path
  std::string root;             // state root, namespace included
  std::string log_path;         // <bundle>/log.json
  bool systemd_cgroup = false;
  std::string criu_path;  // "" = criu from PATH
};

// Stdio the runtime (and so the process it creates) gets; -1 is /dev/null.
struct RuncIo {
  int in = -1;
  int out = -1;
  int err = -1;
};

struct CheckpointConfig {
  std::string image_path;
  std::string work_path;
  bool leave_running = true;
  bool open_tcp = false;
  bool external_unix_sockets = false;
  bool terminal = false;
  bool file_locks = false;
  std::vector<std::string> empty_namespaces;
};

class Runc {
 public:
  explicit Runc(RuncConfig config) : config_(std::move(config)) {}
  const RuncConfig& config() const { return config_; }

  absl::Status Create(const std::string& id, const std::string& bundle, const std::string& pid_file,
                      const std::string& console_socket, bool no_pivot, bool no_new_keyring,
                      const RuncIo& io);
  // `runc start`: done in the shim when the state is runc's own (runc_native.h).
  absl::Status Start(const std::string& id, pid_t init_pid);
  // runc exec --detach with the process spec in `process_file`.
  absl::Status Exec(const std::string& id, const std::string& process_file,
                    const std::string& pid_file, const std::string& console_socket,
                    const RuncIo& io);
  absl::Status Kill(const std::string& id, int signal, bool all);
  // `runc delete`. `init_exited`: the caller reaped the container's init, which lets the shim
  // do runc's work itself when the state allows it (runc_native.h).
  absl::Status Delete(const std::string& id, bool force, bool init_exited = false);
  absl::Status Pause(const std::string& id);
  absl::Status Resume(const std::string& id);
  absl::StatusOr<std::vector<int>> Ps(const std::string& id);
  // runc update --resources -, with `resources_json` (an OCI LinuxResources) on stdin.
  absl::Status Update(const std::string& id, const std::string& resources_json);
  absl::Status Checkpoint(const std::string& id, const CheckpointConfig& config);

 private:
  // Runs `runc <global flags> args...`. `io` null: output captured for the error message.
  absl::StatusOr<std::string> Run(const std::vector<std::string>& args, const RuncIo* io,
                                  int stdin_fd = -1);
  std::string StateDir(const std::string& id) const { return config_.root + "/" + id; }
  RuncConfig config_;
};

// The message of the last "error" entry in a runtime's JSON log (one JSON object per line:
// {"level":"error","msg":"...","time":"..."}), trimmed; "" if there is none. Lines that are not
// JSON objects are skipped.
std::string LastRuntimeError(absl::string_view log_json);

// containerd's checkKillError: what a failed `kill` means. "container not running", "no such
// process" and "process already finished" -> NotFound "process already finished"; "does not
// exist" -> NotFound "no such container"; anything else Unknown "unknown error after kill".
absl::Status KillError(const absl::Status& status);

}  // namespace berth::shim
