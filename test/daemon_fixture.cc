#include "test/daemon_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/version.h"

extern char** environ;

namespace berth::test {

namespace fs = std::filesystem;

namespace {

// Everything the child needs, built before fork: after fork in a multi-threaded process only
// async-signal-safe calls are allowed.
struct ExecArgs {
  explicit ExecArgs(const std::vector<std::string>& argv) : storage(argv) {
    for (std::string& s : storage) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
  std::vector<std::string> storage;
  std::vector<char*> ptrs;
};

// In the child: arranges for `death_signal` when the test process dies (so a crashed or killed
// test leaves no daemon behind; the parent here is always the test's main thread, which lives as
// long as the process), closes every fd above 2 (gRPC's sockets and epoll fds must not leak into
// daemons we start), restores default signal handling, then execs. Never returns.
[[noreturn]] void ExecChild(const ExecArgs& args, int death_signal) {
  prctl(PR_SET_PDEATHSIG, death_signal);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
    for (int fd = 3; fd < 4096; ++fd) close(fd);
  }
  execve(args.ptrs[0], args.ptrs.data(), environ);
  static const char kMsg[] = "exec failed\n";
  (void)!write(2, kMsg, sizeof(kMsg) - 1);
  _exit(127);
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

}  // namespace

// ---------------------------------------------------------------------------------------------
// TempDir

TempDir::TempDir(absl::string_view prefix) {
  std::string tmpl = absl::StrCat("/tmp/", prefix, "-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << tmpl << ": " << strerror(errno);
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty() || path_.rfind("/tmp/", 0) != 0) return;
  UnmountBelow(path_);
  std::error_code ec;
  fs::remove_all(path_, ec);
  if (ec) ADD_FAILURE() << "remove " << path_ << ": " << ec.message();
}

void UnmountBelow(const std::string& dir) {
  std::vector<std::string> points;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    const std::string& mp = fields[4];
    if (mp == dir || mp.rfind(dir + "/", 0) == 0) points.push_back(mp);
  }
  // Deepest first, so a parent is never detached while a child mount hides below it.
  std::sort(points.begin(), points.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& mp : points) umount2(mp.c_str(), MNT_DETACH);
}

// ---------------------------------------------------------------------------------------------
// Commands and processes

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) return absl::StrCat("exit ", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return absl::StrCat("signal ", WTERMSIG(status));
  return absl::StrCat("status ", status);
}

std::string CommandResult::Describe() const {
  std::string what = timed_out        ? std::string("timed out")
                     : exit_code >= 0 ? absl::StrCat("exit ", exit_code)
                                      : absl::StrCat("signal ", term_signal);
  return absl::StrCat(what, "\n--- stdout ---\n", out, "\n--- stderr ---\n", err);
}

CommandResult RunCommand(const std::vector<std::string>& argv, absl::Duration timeout,
                         absl::string_view stdin_data) {
  CommandResult result;
  ExecArgs args(argv);
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    result.err = absl::StrCat("pipe: ", strerror(errno));
    return result;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    ExecChild(args, SIGKILL);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (pid < 0) {
    result.err = absl::StrCat("fork: ", strerror(errno));
    close(in[1]);
    close(out[0]);
    close(err[0]);
    return result;
  }
  SetNonBlocking(in[1]);
  SetNonBlocking(out[0]);
  SetNonBlocking(err[0]);
  int in_fd = in[1];
  size_t in_off = 0;
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  }
  int out_fd = out[0], err_fd = err[0];
  absl::Time deadline = absl::Now() + timeout;
  while (out_fd >= 0 || err_fd >= 0) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd pfds[3];
    int n = 0;
    if (out_fd >= 0) pfds[n++] = {out_fd, POLLIN, 0};
    if (err_fd >= 0) pfds[n++] = {err_fd, POLLIN, 0};
    if (in_fd >= 0) pfds[n++] = {in_fd, POLLOUT, 0};
    int ms = static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, 1000));
    if (poll(pfds, n, ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) continue;
      int fd = pfds[i].fd;
      if (fd == in_fd) {
        ssize_t w = write(fd, stdin_data.data() + in_off, stdin_data.size() - in_off);
        if (w > 0) in_off += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) in_off = stdin_data.size();
        if (in_off == stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r > 0) {
        (fd == out_fd ? result.out : result.err).append(buf, static_cast<size_t>(r));
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(fd);
        (fd == out_fd ? out_fd : err_fd) = -1;
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
  // The pipes are closed; a child that closed its stdout early may still be running.
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, result.timed_out ? 0 : WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) break;
    if (r == 0) {
      if (absl::Now() > deadline) {
        result.timed_out = true;
        kill(pid, SIGKILL);
      } else {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.term_signal = WTERMSIG(status);
  return result;
}

absl::StatusOr<std::unique_ptr<Process>> Process::Spawn(const std::vector<std::string>& argv,
                                                        const std::string& stdout_path,
                                                        const std::string& stderr_path,
                                                        int death_signal) {
  ExecArgs args(argv);
  auto open_out = [](const std::string& path) {
    return open(path.empty() ? "/dev/null" : path.c_str(),
                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  };
  int null_in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = open_out(stdout_path);
  int err = open_out(stderr_path);
  if (null_in < 0 || out < 0 || err < 0) {
    int e = errno;
    for (int fd : {null_in, out, err}) {
      if (fd >= 0) close(fd);
    }
    return absl::InternalError(absl::StrCat("open output files: ", strerror(e)));
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(null_in, 0);
    dup2(out, 1);
    dup2(err, 2);
    ExecChild(args, death_signal);
  }
  int e = errno;
  close(null_in);
  close(out);
  close(err);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(e)));
  return std::unique_ptr<Process>(new Process(pid));
}

Process::~Process() {
  if (Running()) {
    kill(pid_, SIGKILL);
    Wait(absl::Seconds(10));
  }
}

bool Process::Running() {
  if (status_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = status;
    return false;
  }
  return r == 0;
}

void Process::Signal(int sig) {
  if (!status_) kill(pid_, sig);
}

std::optional<int> Process::Wait(absl::Duration timeout) {
  WaitFor([&] { return !Running(); }, timeout, absl::Milliseconds(5));
  return status_;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

bool WaitFor(const std::function<bool()>& done, absl::Duration timeout, absl::Duration interval) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    if (done()) return true;
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(interval);
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileOrDie(const std::string& path, absl::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) ADD_FAILURE() << "write " << path;
}

int ThreadCount(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::atoi(line.c_str() + 8);
  }
  return -1;
}

// ---------------------------------------------------------------------------------------------
// Berthd

Berthd::Berthd() : dir_("berth-it") {}

Berthd::~Berthd() {
  if (process_ && process_->Running()) {
    process_->Signal(SIGKILL);
    process_->Wait(absl::Seconds(10));
  }
  process_.reset();
}

::testing::AssertionResult Berthd::Start(const std::vector<std::string>& extra,
                                         bool default_paths) {
  if (running()) return ::testing::AssertionFailure() << "berthd is already running";
  std::vector<std::string> argv = wrapper_;
  argv.push_back(kBerthdPath);
  if (default_paths) {
    argv.insert(argv.end(), {"--root", root(), "--state", state(), "--address", socket(),
                             "--log-level", "debug"});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto spawned = Process::Spawn(argv, "", log_path());
  if (!spawned.ok()) return ::testing::AssertionFailure() << spawned.status();
  process_ = std::move(*spawned);

  // Ready = Version answers. A fresh channel each round avoids gRPC's reconnect backoff; the
  // socket may be a stale file left by a killed daemon, which refuses connections.
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    if (!process_->Running()) {
      return ::testing::AssertionFailure() << "berthd exited before serving ("
                                           << DescribeWaitStatus(*process_->status()) << "); log:\n"
                                           << Log();
    }
    struct stat st;
    if (stat(ReadySocket().c_str(), &st) == 0) {
      client::Options o{.address = ReadySocket(),
                        .ns = "",
                        .timeout = absl::Seconds(1),
                        .connect_timeout = absl::Milliseconds(500)};
      auto c = client::Client::Connect(o);
      if (c.ok() && client::GetVersion(**c).ok()) return ::testing::AssertionSuccess();
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return ::testing::AssertionFailure() << "berthd did not answer Version within 10 s; log:\n"
                                       << Log();
}

::testing::AssertionResult Berthd::Stop(absl::Duration timeout) {
  if (!process_) return ::testing::AssertionFailure() << "berthd was never started";
  if (!process_->Running()) {
    return ::testing::AssertionFailure()
           << "berthd had already exited (" << DescribeWaitStatus(*process_->status()) << ")";
  }
  process_->Signal(SIGTERM);
  std::optional<int> status = process_->Wait(timeout);
  if (!status) {
    return ::testing::AssertionFailure()
           << "berthd still running " << absl::FormatDuration(timeout) << " after SIGTERM; log:\n"
           << Log();
  }
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
    return ::testing::AssertionFailure()
           << "berthd ended with " << DescribeWaitStatus(*status) << " after SIGTERM; log:\n"
           << Log();
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Berthd::Kill(int sig) {
  if (!process_ || !process_->Running()) {
    return ::testing::AssertionFailure() << "berthd is not running";
  }
  process_->Signal(sig);
  if (!process_->Wait(absl::Seconds(10))) {
    return ::testing::AssertionFailure() << "berthd survived signal " << sig;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Berthd::Restart() {
  if (running()) {
    auto stopped = Stop();
    if (!stopped) return stopped;
  }
  return Start();
}

std::unique_ptr<client::Client> Berthd::NewClient(const std::string& ns, absl::Duration timeout) {
  client::Options o{
      .address = ReadySocket(), .ns = ns, .timeout = timeout, .connect_timeout = absl::Seconds(5)};
  auto c = client::Client::Connect(o);
  if (!c.ok()) {
    ADD_FAILURE() << "connect to " << ReadySocket() << ": " << c.status();
    // A client whose calls fail, so the test reports errors instead of crashing.
    o.connect_timeout = absl::ZeroDuration();
    c = client::Client::Connect(o);
  }
  return std::move(*c);
}

// ---------------------------------------------------------------------------------------------
// DaemonTest

std::string DaemonTest::UniqueName(absl::string_view prefix) {
  static std::atomic<int> counter{0};
  return absl::StrCat(prefix, "-", getpid(), "-", counter.fetch_add(1));
}

void DaemonTest::SetUp() {
  ASSERT_TRUE(daemon_.Start());
  ns_ = UniqueName("ns");
  client_ = daemon_.NewClient(ns_);
}

void DaemonTest::TearDown() {
  if (HasFailure()) {
    std::string log = daemon_.Log();
    if (log.size() > 8000) log = "...\n" + log.substr(log.size() - 8000);
    std::cerr << "---- berthd log (" << daemon_.log_path() << ") ----\n" << log << "----\n";
  }
  // Containers of the test's namespace get cgroups under /<namespace> (ctr's cgroupsPath);
  // the runtime removes each container's, the parent is left to its owner, as containerd
  // does. Remove the test's own (rmdir: only when empty, never anything a container uses).
  if (!ns_.empty()) {
    std::error_code ec;
    for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
      ::rmdir((hierarchy.path() / ns_).c_str());
    }
    ::rmdir(("/sys/fs/cgroup/" + ns_).c_str());  // a cgroup v2 host
  }
}

void DaemonTest::Restart() {
  client_.reset();
  ASSERT_TRUE(daemon_.Restart());
  client_ = daemon_.NewClient(ns_);
}

}  // namespace berth::test
