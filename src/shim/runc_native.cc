#include "shim/runc_native.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::shim::runc_native {
namespace {

bool IsFifo(const std::string& path) {
  auto st = sys::Stat(path);
  return st.ok() && S_ISFIFO(st->st_mode);
}

// Whether `pid` is gone or a zombie: a process that can no longer open the fifo.
bool Dead(pid_t pid) {
  auto stat = sys::ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) return true;
  // "pid (comm) S ...": the state follows the last ')' (comm may hold anything).
  size_t close = stat->rfind(')');
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] == 'Z' ||
         (*stat)[close + 2] == 'X';
}

// runc's cgroups.RemovePath: rmdir, and if that fails, the child cgroups first.
absl::Status RemoveCgroup(const std::string& path) {
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  auto names = sys::ListDir(path);
  if (!names.ok()) return absl::IsNotFound(names.status()) ? absl::OkStatus() : names.status();
  for (const std::string& name : *names) {
    const std::string child = path + "/" + name;
    if (auto st = sys::Stat(child); st.ok() && S_ISDIR(st->st_mode)) {
      RETURN_IF_ERROR(RemoveCgroup(child));
    }
  }
  if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
  return ErrnoError(errno, absl::StrCat("rmdir ", path));
}

// runc's cgroups.RemovePaths: five rounds, 10 ms apart doubling, until every path is gone
// (a cgroup whose last task just exited can be busy for a moment).
absl::Status RemoveCgroups(std::vector<std::string> paths) {
  absl::Status last;
  auto delay = std::chrono::milliseconds(10);
  for (int round = 0; round < 5 && !paths.empty(); ++round) {
    if (round > 0) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    std::vector<std::string> left;
    for (const std::string& path : paths) {
      absl::Status st = RemoveCgroup(path);
      if (!st.ok()) last = st;
      if (sys::Stat(path).ok()) left.push_back(path);
    }
    paths = std::move(left);
  }
  if (paths.empty()) return absl::OkStatus();
  return Annotate(last, "failed to remove cgroups");
}

// Whether runc's config (state.json's "config") lists hooks of `kind` ("poststart", ...).
// Anything unexpected counts as yes: the runtime will know what to do with it.
bool HasHooks(const nlohmann::json& config, const char* kind) {
  auto hooks = config.find("Hooks");
  if (hooks == config.end() || hooks->is_null()) return false;
  if (!hooks->is_object()) return true;
  auto list = hooks->find(kind);
  return list != hooks->end() && !list->is_null() && !(list->is_array() && list->empty());
}

}  // namespace

absl::StatusOr<bool> Start(const std::string& state_dir, pid_t init_pid) {
  const std::string fifo = state_dir + "/exec.fifo";
  if (!IsFifo(fifo)) return false;
  // runc 1.1 runs poststart hooks in `create`; a runc that ran them in `start` must get the
  // call, so a state with such hooks (or that is not runc's) is left to the runtime.
  auto text = sys::ReadFile(state_dir + "/state.json");
  if (!text.ok()) return false;
  nlohmann::json state = nlohmann::json::parse(*text, nullptr, false);
  if (state.is_discarded() || !state.is_object() || !state.contains("config") ||
      !state["config"].is_object() || HasHooks(state["config"], "poststart")) {
    return false;
  }
  // Non-blocking, so that an init that died before opening its end cannot hang the shim; the
  // open itself releases an init already waiting in its open for writing.
  auto fd = sys::Open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (!fd.ok()) return fd.status();
  // Until the init has opened its end, poll reports nothing (no POLLHUP for a writer that never
  // came); once it has written "0" and exec'd (closing its end), POLLIN then POLLHUP.
  for (;;) {
    struct pollfd p = {fd->get(), POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "poll exec fifo");
    // A dead init may have written before dying: what it wrote is still in the fifo.
    if (n > 0 || Dead(init_pid)) break;
  }
  char buf[16];
  ssize_t n;
  do {
    n = ::read(fd->get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && errno != EAGAIN) return ErrnoError(errno, "read exec fifo");
  if (n <= 0) {
    if (Dead(init_pid)) return absl::UnknownError("container process is already dead");
    return absl::UnknownError("cannot start an already running container");
  }
  if (::unlink(fifo.c_str()) != 0 && errno != ENOENT) {
    return ErrnoError(errno, absl::StrCat("remove ", fifo));
  }
  return true;
}

bool ParseDeletableState(absl::string_view state_json, std::vector<std::string>* cgroup_paths) {
  nlohmann::json state = nlohmann::json::parse(state_json, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return false;
  auto config = state.find("config");
  auto paths = state.find("cgroup_paths");
  if (config == state.end() || !config->is_object() || paths == state.end() ||
      !(paths->is_object() || paths->is_null())) {
    return false;
  }
  // runc kills what is left in the cgroups unless the init had a pid namespace of its own.
  bool own_pid_ns = false;
  auto namespaces = config->find("namespaces");
  if (namespaces == config->end() || !namespaces->is_array()) return false;
  for (const nlohmann::json& ns : *namespaces) {
    if (!ns.is_object() || ns.value("type", "") != "NEWPID") continue;
    own_pid_ns = ns.value("path", "").empty();
  }
  if (!own_pid_ns) return false;
  auto cgroups = config->find("cgroups");
  if (cgroups != config->end()) {
    if (!cgroups->is_object()) return false;
    auto systemd = cgroups->find("Systemd");
    if (systemd != cgroups->end() && !(systemd->is_boolean() || systemd->is_null())) return false;
    if (systemd != cgroups->end() && systemd->is_boolean() && systemd->get<bool>()) return false;
  }
  if (HasHooks(*config, "poststop")) return false;
  auto rdt = state.find("intel_rdt_path");
  if (rdt != state.end() && !(rdt->is_string() && rdt->get<std::string>().empty())) return false;

  std::vector<std::string> out;
  if (paths->is_object()) {
    for (const auto& entry : paths->items()) {
      if (!entry.value().is_string()) return false;
      const std::string& path = entry.value().get_ref<const std::string&>();
      // Only cgroup directories: nothing outside the cgroup filesystems.
      if (path.rfind("/sys/fs/cgroup/", 0) != 0 || path.find("/../") != std::string::npos) {
        return false;
      }
      out.push_back(path);
    }
  }
  *cgroup_paths = std::move(out);
  return true;
}

absl::StatusOr<bool> DeleteStopped(const std::string& state_dir) {
  auto text = sys::ReadFile(state_dir + "/state.json");
  if (!text.ok()) return false;  // not runc's, or already gone: the runtime answers
  std::vector<std::string> cgroup_paths;
  if (!ParseDeletableState(*text, &cgroup_paths)) return false;
  // As `runc delete` of a stopped container, a cgroup that will not go is logged, not fatal.
  absl::Status st = RemoveCgroups(std::move(cgroup_paths));
  if (!st.ok()) log::Warn("runc delete", {{"error", st.ToString()}});
  RETURN_IF_ERROR(sys::RemoveAll(state_dir));
  return true;
}

}  // namespace berth::shim::runc_native
