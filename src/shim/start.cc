// The `start` action (see actions.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/status.h"
#include "google/protobuf/any.pb.h"
#include "shim/actions.h"
#include "shim/bundle.h"
#include "shim/child.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/unique_fd.h"
#include "ttrpc/server.h"

namespace berth::shim {
namespace {

constexpr long kCgroup2Magic = 0x63677270;

absl::StatusOr<std::string> WorkingDir() {
  char buf[4096];
  if (::getcwd(buf, sizeof(buf)) == nullptr) return ErrnoError(errno, "getcwd");
  return std::string(buf);
}

// Whether a live server accepts on `path` (a non-blocking connect: a full backlog counts as
// alive, a refused or missing socket does not).
bool CanConnect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) return true;
  return errno == EAGAIN || errno == EINPROGRESS;
}

absl::StatusOr<std::string> ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      out.append(buf, n);
    } else if (n == 0) {
      return out;
    } else if (errno != EINTR) {
      return ErrnoError(errno, "read stdin");
    }
  }
}

// containerd's shim_cgroup option: the serving shim joins that cgroup (every v1 hierarchy that
// has it, or the unified one).
absl::Status JoinCgroup(pid_t pid, const std::string& cgroup) {
  std::string rel(absl::StripPrefix(cgroup, "/"));
  std::string pid_text = absl::StrCat(pid);
  struct statfs fs;
  if (::statfs("/sys/fs/cgroup", &fs) == 0 && static_cast<long>(fs.f_type) == kCgroup2Magic) {
    return sys::WriteFile(absl::StrCat("/sys/fs/cgroup/", rel, "/cgroup.procs"), pid_text, 0644);
  }
  auto hierarchies = sys::ListDir("/sys/fs/cgroup");
  if (!hierarchies.ok()) return hierarchies.status();
  bool joined = false;
  for (const std::string& h : *hierarchies) {
    std::string procs = absl::StrCat("/sys/fs/cgroup/", h, "/", rel, "/cgroup.procs");
    struct stat st;
    if (::stat(procs.c_str(), &st) != 0) continue;
    RETURN_IF_ERROR(sys::WriteFile(procs, pid_text, 0644));
    joined = true;
  }
  if (!joined) return ErrNotFound(absl::StrCat("cgroup ", cgroup));
  return absl::OkStatus();
}

// The shim is a little more killable than its daemon (containerd's AdjustOOMScore).
absl::Status AdjustOomScore(pid_t pid) {
  ASSIGN_OR_RETURN(std::string parent,
                   sys::ReadFile(absl::StrCat("/proc/", ::getppid(), "/oom_score_adj")));
  int score = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(parent), &score)) {
    return absl::InternalError(absl::StrCat("parent oom_score_adj: ", parent));
  }
  score = std::min(score + 1, 1000);
  return sys::WriteFile(absl::StrCat("/proc/", pid, "/oom_score_adj"), absl::StrCat(score), 0644);
}

absl::StatusOr<std::string> Start(const Flags& flags) {
  if (flags.namespace_.empty()) return absl::InvalidArgumentError("shim namespace cannot be empty");
  if (flags.id.empty()) return absl::InvalidArgumentError("shim id cannot be empty");
  ASSIGN_OR_RETURN(std::string cwd, WorkingDir());
  std::string bundle = flags.bundle.empty() ? cwd : flags.bundle;
  ASSIGN_OR_RETURN(std::string group, GroupId(bundle, flags.id));
  ASSIGN_OR_RETURN(std::string path, SocketPath(flags.address, flags.namespace_, group));
  std::string address = absl::StrCat("unix://", path);

  if (CanConnect(path)) {
    // A shim already serves this group: share it.
    RETURN_IF_ERROR(WriteAddress(bundle, address));
    return address;
  }
  RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(path), 0711));
  ASSIGN_OR_RETURN(sys::UniqueFd listener, ttrpc::ListenUnix(path));
  struct RemoveOnFailure {
    std::string path;
    bool armed = true;
    ~RemoveOnFailure() {
      if (armed) ::unlink(path.c_str());
    }
  } cleanup{path};
  RETURN_IF_ERROR(sys::Chmod(path, 0600));
  RETURN_IF_ERROR(WriteAddress(bundle, address));

  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return ErrnoError(errno, "readlink /proc/self/exe");
  SpawnOptions options;
  options.argv.push_back(std::string(self, n));
  for (std::string& arg : ServeArgs(flags)) options.argv.push_back(std::move(arg));
  options.cwd = bundle;
  options.extra_fds = {listener.get()};
  options.new_session = true;  // stdio are /dev/null: nothing of the caller's stays open
  ASSIGN_OR_RETURN(pid_t pid, Spawn(options));
  listener.reset();

  // The runtime options come on stdin (a marshalled Any); only shim_cgroup matters here.
  if (!::isatty(STDIN_FILENO)) {
    auto data = ReadAll(STDIN_FILENO);
    google::protobuf::Any any;
    if (data.ok() && !data->empty() && any.ParseFromString(*data)) {
      auto opts = ParseOptions(any);
      if (opts.ok() && !opts->shim_cgroup().empty()) {
        absl::Status st = JoinCgroup(pid, opts->shim_cgroup());
        if (!st.ok()) {
          ::kill(pid, SIGKILL);
          return Annotate(st, absl::StrCat("failed to join cgroup ", opts->shim_cgroup()));
        }
      }
    }
  }
  if (absl::Status st = AdjustOomScore(pid); !st.ok()) {
    log::Warn("failed to adjust the shim's OOM score", {{"error", st.ToString()}});
  }
  cleanup.armed = false;
  return address;
}

}  // namespace

int RunStart(const Flags& flags) {
  auto address = Start(flags);
  if (!address.ok()) {
    std::fprintf(stderr, "containerd-shim-berth-v2: %s\n",
                 std::string(address.status().message()).c_str());
    return 1;
  }
  std::fwrite(address->data(), 1, address->size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace berth::shim
