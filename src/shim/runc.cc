#include "shim/runc.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "shim/child.h"
#include "shim/runc_native.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kRuntimeTimeout = absl::Minutes(5);

int64_t FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : 0;
}

}  // namespace

std::string LastRuntimeError(absl::string_view log_json) {
  std::string message;
  for (absl::string_view line : absl::StrSplit(log_json, '\n', absl::SkipWhitespace())) {
    nlohmann::json entry = nlohmann::json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) continue;
    auto level = entry.find("level");
    auto msg = entry.find("msg");
    if (level == entry.end() || !level->is_string() || level->get<std::string>() != "error") {
      continue;
    }
    if (msg != entry.end() && msg->is_string()) {
      message = std::string(absl::StripAsciiWhitespace(msg->get<std::string>()));
    }
  }
  return message;
}

absl::Status KillError(const absl::Status& status) {
  if (status.ok()) return status;
  std::string lower(status.message());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (absl::StrContains(status.message(), "os: process already finished") ||
      absl::StrContains(status.message(), "container not running") ||
      absl::StrContains(lower, "no such process")) {
    return ErrNotFound("process already finished");
  }
  if (absl::StrContains(status.message(), "does not exist")) {
    return ErrNotFound("no such container");
  }
  return absl::UnknownError(absl::StrCat("unknown error after kill: ", status.message()));
}

absl::StatusOr<std::string> Runc::Run(const std::vector<std::string>& args, const RuncIo* io,
                                      int stdin_fd) {
  SpawnOptions options;
  options.argv = {config_.binary, "--root", config_.root};
  if (!config_.log_path.empty()) {
    options.argv.insert(options.argv.end(), {"--log", config_.log_path, "--log-format", "json"});
  }
  if (config_.systemd_cgroup) options.argv.push_back("--systemd-cgroup");
  if (!config_.criu_path.empty()) {
    options.argv.insert(options.argv.end(), {"--criu", config_.criu_path});
  }
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  if (io != nullptr) {
    options.stdin_fd = io->in;
    options.stdout_fd = io->out;
    options.stderr_fd = io->err;
  } else {
    options.stdin_fd = stdin_fd;
    options.stdout_fd = kCapture;
    options.stderr_fd = kCapture;
  }
  // If the shim dies mid-command the runtime must not linger (go-runc's Pdeathsig).
  options.pdeath_signal = SIGKILL;

  int64_t log_offset = config_.log_path.empty() ? 0 : FileSize(config_.log_path);
  auto result = RunAndWait(std::move(options), kRuntimeTimeout);
  if (!result.ok()) {
    if (result.status().code() == absl::StatusCode::kDeadlineExceeded) return result.status();
    return absl::UnknownError(result.status().message());
  }
  if (result->exit_status == 0) return std::move(result->stdout_text);

  std::string message;
  if (!config_.log_path.empty()) {
    auto fd = sys::Open(config_.log_path, O_RDONLY | O_CLOEXEC);
    if (fd.ok()) {
      auto text = sys::ReadAt(fd->get(), log_offset, 1 << 20, config_.log_path);
      if (text.ok()) message = LastRuntimeError(*text);
    }
  }
  if (message.empty()) {
    message = std::string(
        absl::StripAsciiWhitespace(absl::StrCat(result->stderr_text, result->stdout_text)));
  }
  if (message.empty()) message = absl::StrCat("exit status ", result->exit_status);
  return absl::UnknownError(message);
}

absl::Status Runc::Create(const std::string& id, const std::string& bundle,
                          const std::string& pid_file, const std::string& console_socket,
                          bool no_pivot, bool no_new_keyring, const RuncIo& io) {
  std::vector<std::string> args = {"create", "--bundle", bundle, "--pid-file", pid_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  if (no_pivot) args.push_back("--no-pivot");
  if (no_new_keyring) args.push_back("--no-new-keyring");
  args.push_back(id);
  return Run(args, &io).status();
}

absl::Status Runc::Start(const std::string& id, pid_t init_pid) {
  ASSIGN_OR_RETURN(bool done, runc_native::Start(StateDir(id), init_pid));
  if (done) return absl::OkStatus();
  return Run({"start", id}, nullptr).status();
}

absl::Status Runc::Exec(const std::string& id, const std::string& process_file,
                        const std::string& pid_file, const std::string& console_socket,
                        const RuncIo& io) {
  std::vector<std::string> args = {"exec",   "--detach",  "--pid-file",
                                   pid_file, "--process", process_file};
  if (!console_socket.empty()) args.insert(args.end(), {"--console-socket", console_socket});
  args.push_back(id);
  return Run(args, &io).status();
}

absl::Status Runc::Kill(const std::string& id, int signal, bool all) {
  std::vector<std::string> args = {"kill"};
  if (all) args.push_back("--all");
  args.push_back(id);
  args.push_back(absl::StrCat(signal));
  return Run(args, nullptr).status();
}

absl::Status Runc::Delete(const std::string& id, bool force, bool init_exited) {
  if (init_exited) {
    ASSIGN_OR_RETURN(bool done, runc_native::DeleteStopped(StateDir(id)));
    if (done) return absl::OkStatus();
  }
  std::vector<std::string> args = {"delete"};
  if (force) args.push_back("--force");
  args.push_back(id);
  return Run(args, nullptr).status();
}

absl::Status Runc::Pause(const std::string& id) { return Run({"pause", id}, nullptr).status(); }

absl::Status Runc::Resume(const std::string& id) { return Run({"resume", id}, nullptr).status(); }

absl::StatusOr<std::vector<int>> Runc::Ps(const std::string& id) {
  ASSIGN_OR_RETURN(std::string out, Run({"ps", "--format", "json", id}, nullptr));
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded() || !(j.is_array() || j.is_null())) {
    return absl::UnknownError(absl::StrCat("runc ps: unexpected output: ", out));
  }
  std::vector<int> pids;
  if (j.is_array()) {
    for (const nlohmann::json& pid : j) {
      if (pid.is_number_integer()) pids.push_back(pid.get<int>());
    }
  }
  return pids;
}

absl::Status Runc::Update(const std::string& id, const std::string& resources_json) {
  // The resources go on stdin from an in-memory file: no temporary file in the bundle, and no
  // pipe that could fill up before the runtime reads it.
  sys::UniqueFd mem(::memfd_create("runc-resources", MFD_CLOEXEC));
  if (!mem.valid()) return ErrnoError(errno, "memfd_create");
  RETURN_IF_ERROR(sys::WriteAll(mem.get(), resources_json, "runc-resources"));
  if (::lseek(mem.get(), 0, SEEK_SET) != 0) return ErrnoError(errno, "lseek");
  return Run({"update", "--resources", "-", id}, nullptr, mem.get()).status();
}

absl::Status Runc::Checkpoint(const std::string& id, const CheckpointConfig& c) {
  std::vector<std::string> args = {"checkpoint", "--image-path", c.image_path};
  if (!c.work_path.empty()) args.insert(args.end(), {"--work-path", c.work_path});
  if (c.open_tcp) args.push_back("--tcp-established");
  if (c.external_unix_sockets) args.push_back("--ext-unix-sk");
  if (c.terminal) args.push_back("--shell-job");
  if (c.file_locks) args.push_back("--file-locks");
  for (const std::string& ns : c.empty_namespaces) args.insert(args.end(), {"--empty-ns", ns});
  if (c.leave_running) args.push_back("--leave-running");
  args.push_back(id);
  return Run(args, nullptr).status();
}

}  // namespace berth::shim
