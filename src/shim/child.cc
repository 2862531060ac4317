#include "shim/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "sys/process.h"
#include "sys/unique_fd.h"

extern char** environ;

namespace berth::shim {
namespace {

bool IsExecutable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

// Only async-signal-safe calls between fork and exec. Reports errno on `err_fd` and exits 127.
[[noreturn]] void ExecChild(const SpawnOptions& o, const char* path, char* const* argv,
                            char* const* envp, int devnull, int err_fd) {
  auto fail = [err_fd]() {
    int e = errno;
    (void)!::write(err_fd, &e, sizeof(e));
    ::_exit(127);
  };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (o.new_session && ::setsid() < 0) fail();
  if (o.pdeath_signal != 0 && ::prctl(PR_SET_PDEATHSIG, o.pdeath_signal) != 0) fail();
  if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) fail();
  // Move every source out of the way first, so that mapping (a -> b) never clobbers a source
  // still to be mapped; dup2 then clears close-on-exec on the targets.
  int sources[64];
  int n = 0;
  const int std_fds[3] = {o.stdin_fd, o.stdout_fd, o.stderr_fd};
  for (int fd : std_fds) sources[n++] = fd < 0 ? devnull : fd;
  for (int fd : o.extra_fds) {
    if (n == 64) break;
    sources[n++] = fd;
  }
  for (int i = 0; i < n; ++i) {
    sources[i] = ::fcntl(sources[i], F_DUPFD_CLOEXEC, 64 + n);
    if (sources[i] < 0) fail();
  }
  for (int i = 0; i < n; ++i) {
    if (::dup2(sources[i], i) < 0) fail();
  }
  // Nothing else crosses exec, not even descriptors someone left without close-on-exec (a
  // daemon's parent shell, say): the serving shim must not pin its caller's pipes.
  if (::syscall(SYS_close_range, n, ~0U, 0) != 0) {
    for (int fd = n; fd < 1024; ++fd) ::close(fd);
  }
  ::execve(path, argv, envp);
  fail();
  ::_exit(127);  // not reached
}

}  // namespace

absl::StatusOr<std::string> LookPath(absl::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("exec: no command");
  if (name.find('/') != absl::string_view::npos) {
    std::string path(name);
    if (!IsExecutable(path)) {
      return absl::NotFoundError(absl::StrCat("exec: \"", name, "\": stat ", name, ": ",
                                              std::strerror(errno ? errno : ENOENT)));
    }
    return path;
  }
  const char* env_path = std::getenv("PATH");
  std::string search = env_path != nullptr ? env_path : "/usr/local/bin:/usr/bin:/bin";
  for (absl::string_view dir : absl::StrSplit(search, ':')) {
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", name);
    if (IsExecutable(candidate)) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("exec: \"", name, "\": executable file not found in $PATH"));
}

absl::StatusOr<pid_t> Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return absl::InvalidArgumentError("spawn: empty argv");
  for (int fd : {options.stdin_fd, options.stdout_fd, options.stderr_fd}) {
    if (fd == kCapture) return absl::InvalidArgumentError("spawn: kCapture outside RunAndWait");
  }
  ASSIGN_OR_RETURN(std::string path, LookPath(options.argv[0]));

  // Everything the child needs is built before fork.
  std::vector<char*> argv;
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  char* const* env = environ;
  if (options.env.has_value()) {
    for (const std::string& e : *options.env) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    env = envp.data();
  }
  sys::UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return ErrnoError(errno, "open /dev/null");
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  sys::UniqueFd err_read(err_pipe[0]);
  sys::UniqueFd err_write(err_pipe[1]);

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError(errno, absl::StrCat("fork for ", options.argv[0]));
  if (pid == 0) {
    ExecChild(options, path.c_str(), argv.data(), env, devnull.get(), err_write.get());
  }
  err_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n == sizeof(child_errno)) {
    (void)WaitPid(pid);
    return ErrnoError(child_errno, absl::StrCat("exec ", path));
  }
  return pid;
}

absl::StatusOr<int> WaitPid(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError(errno, absl::StrCat("waitpid ", pid));
  }
  return status;
}

int ExitStatusFromWait(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 0;
}

absl::StatusOr<RunResult> RunAndWait(SpawnOptions options, absl::Duration timeout) {
  sys::UniqueFd out_read, out_write, err_read, err_write;
  auto capture = [](int* fd, sys::UniqueFd* r, sys::UniqueFd* w) -> absl::Status {
    if (*fd != kCapture) return absl::OkStatus();
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
    r->reset(p[0]);
    w->reset(p[1]);
    *fd = p[1];
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(capture(&options.stdout_fd, &out_read, &out_write));
  RETURN_IF_ERROR(capture(&options.stderr_fd, &err_read, &err_write));
  if (options.stdin_fd == kCapture) options.stdin_fd = -1;
  ASSIGN_OR_RETURN(pid_t pid, Spawn(options));
  out_write.reset();
  err_write.reset();

  RunResult result;
  absl::Time deadline = absl::Now() + timeout;
  bool timed_out = false;
  while (out_read.valid() || err_read.valid()) {
    pollfd fds[2];
    int n = 0;
    if (out_read.valid()) fds[n++] = {out_read.get(), POLLIN, 0};
    if (err_read.valid()) fds[n++] = {err_read.get(), POLLIN, 0};
    int ms = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (ms <= 0) {
      timed_out = true;
      break;
    }
    int ready = ::poll(fds, n, ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      bool is_out = out_read.valid() && fds[i].fd == out_read.get();
      char buf[4096];
      ssize_t got = ::read(fds[i].fd, buf, sizeof(buf));
      if (got > 0) {
        (is_out ? result.stdout_text : result.stderr_text).append(buf, got);
      } else if (got == 0 || errno != EINTR) {
        (is_out ? out_read : err_read).reset();
      }
    }
  }
  // The output may end before the process does (or was not captured): wait for the exit with
  // the same deadline. The shim's SIGCHLD is blocked and consumed by its signalfd, so the exit is
  // seen through a pidfd; on kernels without one, waitpid is polled with a growing nap.
  int status = 0;
  auto pidfd = sys::PidfdOpen(pid);
  absl::Duration nap = absl::Milliseconds(1);
  while (!timed_out) {
    pid_t got = ::waitpid(pid, &status, WNOHANG);
    if (got == pid) break;
    if (got < 0 && errno != EINTR) return ErrnoError(errno, absl::StrCat("waitpid ", pid));
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      timed_out = true;
      break;
    }
    if (pidfd.ok()) {
      pollfd exited = {pidfd->get(), POLLIN, 0};
      ::poll(&exited, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      continue;
    }
    absl::SleepFor(std::min(nap, left));
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
  if (timed_out) {
    ::kill(pid, SIGKILL);
    ASSIGN_OR_RETURN(status, WaitPid(pid));
  }
  if (timed_out) {
    return absl::DeadlineExceededError(
        absl::StrCat(options.argv[0], " did not finish within ", absl::FormatDuration(timeout)));
  }
  result.exit_status = ExitStatusFromWait(status);
  return result;
}

}  // namespace berth::shim
