#include "shim/io.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "shim/child.h"
#include "shim/console.h"
#include "sys/file.h"
#include "sys/fs.h"

namespace berth::shim {
namespace {

constexpr absl::Duration kLoggerReadyTimeout = absl::Seconds(10);
// containerd gives a logging binary this long to flush after SIGTERM.
constexpr absl::Duration kLoggerTermTimeout = absl::Seconds(12);

struct Pipe {
  sys::UniqueFd read;
  sys::UniqueFd write;
};

absl::StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError(errno, "pipe");
  return Pipe{sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

absl::StatusOr<sys::UniqueFd> Dup(int fd) {
  sys::UniqueFd copy(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!copy.valid()) return ErrnoError(errno, "dup");
  return copy;
}

// The client's stdout/stderr: a FIFO is opened read-write (never blocks, and the FIFO never
// loses its last reader or writer while the shim holds it); anything else is a file appended to.
absl::StatusOr<sys::UniqueFd> OpenOutput(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)) {
    sys::UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) {
      return ErrnoError(errno,
                        absl::StrCat("containerd-shim: opening w/o fifo \"", path, "\" failed"));
    }
    return fd;
  }
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd.valid()) {
    return ErrnoError(errno, absl::StrCat("containerd-shim: opening file \"", path, "\" failed"));
  }
  return fd;
}

// file:///path: created (with its directory) and appended to.
absl::Status CreateLogFile(const std::string& path) {
  RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(path), 0755));
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError(errno, absl::StrCat("open ", path));
  return absl::OkStatus();
}

}  // namespace

struct ProcessIo::Logger {
  pid_t pid = 0;
  bool alive = true;
  sys::EventLoop::TimerId kill_timer = 0;
};

ProcessIo::ProcessIo(sys::EventLoop* loop, Reaper* reaper, Config config)
    : loop_(loop),
      reaper_(reaper),
      config_(std::move(config)),
      self_(std::make_shared<ProcessIo*>(this)) {}

ProcessIo::~ProcessIo() {
  *self_ = nullptr;
  copiers_.clear();
  if (logger_ && logger_->alive) {
    ::kill(logger_->pid, SIGTERM);
    std::shared_ptr<Logger> logger = logger_;
    logger_->kill_timer = loop_->After(kLoggerTermTimeout, [logger]() {
      if (!logger->alive) return;
      log::Warn("logging binary did not exit after SIGTERM, killing it", {{"pid", logger->pid}});
      ::kill(logger->pid, SIGKILL);
    });
  }
}

absl::StatusOr<std::unique_ptr<ProcessIo>> ProcessIo::Create(sys::EventLoop* loop, Reaper* reaper,
                                                             Config config) {
  std::unique_ptr<ProcessIo> io(new ProcessIo(loop, reaper, std::move(config)));
  const Stdio& s = io->config_.stdio;

  if (s.terminal) {
    if (s.stdout_path.empty()) return io;
    ASSIGN_OR_RETURN(StdioUri uri, ParseStdioUri(s.stdout_path));
    switch (uri.scheme) {
      case StdioUri::Scheme::kBinary: {
        // The logger reads the console's output on fd 3; fd 4 (stderr) stays empty.
        ASSIGN_OR_RETURN(Pipe out, MakePipe());
        ASSIGN_OR_RETURN(Pipe err, MakePipe());
        RETURN_IF_ERROR(io->StartLogger(uri, std::move(out.read), std::move(err.read)));
        io->stdout_target_ = std::move(out.write);
        break;
      }
      case StdioUri::Scheme::kFile: {
        RETURN_IF_ERROR(CreateLogFile(uri.path));
        ASSIGN_OR_RETURN(io->stdout_target_, OpenOutput(uri.path));
        break;
      }
      case StdioUri::Scheme::kFifo: {
        ASSIGN_OR_RETURN(io->stdout_target_, OpenOutput(s.stdout_path));
        break;
      }
    }
    return io;
  }

  if (s.IsNull()) return io;
  ASSIGN_OR_RETURN(StdioUri uri, ParseStdioUri(s.stdout_path));
  if (uri.scheme == StdioUri::Scheme::kBinary) {
    // The process writes into the logger's pipes directly; there is no stdin.
    ASSIGN_OR_RETURN(Pipe out, MakePipe());
    ASSIGN_OR_RETURN(Pipe err, MakePipe());
    RETURN_IF_ERROR(io->StartLogger(uri, std::move(out.read), std::move(err.read)));
    io->runtime_stdout_ = std::move(out.write);
    io->runtime_stderr_ = std::move(err.write);
    return io;
  }
  std::string stdout_dest = s.stdout_path;
  std::string stderr_dest = s.stderr_path;
  if (uri.scheme == StdioUri::Scheme::kFile) {
    RETURN_IF_ERROR(CreateLogFile(uri.path));
    stdout_dest = stderr_dest = uri.path;
  }
  if (!s.stdin_path.empty()) {
    ASSIGN_OR_RETURN(Pipe in, MakePipe());
    io->runtime_stdin_ = std::move(in.read);
    io->stdin_write_ = std::move(in.write);
  }
  if (!s.stdout_path.empty()) {
    ASSIGN_OR_RETURN(io->stdout_target_, OpenOutput(stdout_dest));
    ASSIGN_OR_RETURN(Pipe out, MakePipe());
    io->runtime_stdout_ = std::move(out.write);
    io->stdout_read_ = std::move(out.read);
  }
  if (!s.stderr_path.empty()) {
    ASSIGN_OR_RETURN(io->stderr_target_, OpenOutput(stderr_dest));
    ASSIGN_OR_RETURN(Pipe err, MakePipe());
    io->runtime_stderr_ = std::move(err.write);
    io->stderr_read_ = std::move(err.read);
  }
  if (io->config_.uid != 0 || io->config_.gid != 0) {
    // The process may run as another user and reopen its stdio (/proc/self/fd/N).
    for (const sys::UniqueFd* fd :
         {&io->runtime_stdin_, &io->runtime_stdout_, &io->runtime_stderr_}) {
      if (fd->valid() && ::fchown(fd->get(), io->config_.uid, io->config_.gid) != 0) {
        return ErrnoError(errno, "chown process stdio");
      }
    }
  }
  return io;
}

absl::Status ProcessIo::OpenStdin() {
  const std::string& path = config_.stdio.stdin_path;
  // The reader first: opening the writer without blocking needs a reader to exist.
  stdin_fifo_.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!stdin_fifo_.valid()) {
    return ErrnoError(errno, absl::StrCat("containerd-shim: opening ", path, " failed"));
  }
  // No writer of our own on it: the process gets EOF when the client closes its end, as with
  // containerd's shim (ctr closes the FIFO at the end of its stdin and never calls CloseIO).
  return absl::OkStatus();
}

absl::Status ProcessIo::StartLogger(const StdioUri& uri, sys::UniqueFd out_read,
                                    sys::UniqueFd err_read) {
  ASSIGN_OR_RETURN(Pipe ready, MakePipe());
  SpawnOptions options;
  options.argv.push_back(uri.path);
  for (std::string& arg : BinaryArgs(uri)) options.argv.push_back(std::move(arg));
  options.env = std::vector<std::string>{absl::StrCat("CONTAINER_ID=", config_.id),
                                         absl::StrCat("CONTAINER_NAMESPACE=", config_.ns)};
  options.extra_fds = {out_read.get(), err_read.get(), ready.write.get()};
  auto pid = Spawn(options);
  if (!pid.ok()) return Annotate(pid.status(), "failed to start binary process");
  ready.write.reset();
  logger_ = std::make_shared<Logger>();
  logger_->pid = *pid;
  std::shared_ptr<Logger> logger = logger_;
  sys::EventLoop* loop = loop_;
  reaper_->Watch(*pid, [logger, loop](int status, absl::Time) {
    logger->alive = false;
    loop->Cancel(logger->kill_timer);
    log::Debug("logging binary exited",
               {{"pid", logger->pid}, {"status", ExitStatusFromWait(status)}});
  });
  // Ready when it writes a byte or closes fd 5 (exits, or closes it on purpose).
  pollfd p = {ready.read.get(), POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kLoggerReadyTimeout)));
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("logging binary ", uri.path, " did not signal readiness on fd 5"));
  }
  return absl::OkStatus();
}

absl::Status ProcessIo::StartCopy(sys::UniqueFd src, sys::UniqueFd dst, const char* name,
                                  bool output) {
  std::function<void()> on_done;
  if (output) {
    ++active_outputs_;
    std::weak_ptr<ProcessIo*> weak = self_;
    on_done = [weak]() {
      auto self = weak.lock();
      if (self && *self) (*self)->OutputDone();
    };
  }
  auto copier = Copier::Start(loop_, std::move(src), std::move(dst), name, std::move(on_done));
  if (!copier.ok()) {
    if (output) --active_outputs_;
    return Annotate(copier.status(), absl::StrCat("copy ", name));
  }
  copiers_.push_back(*std::move(copier));
  return absl::OkStatus();
}

absl::Status ProcessIo::Start() {
  runtime_stdin_.reset();
  runtime_stdout_.reset();
  runtime_stderr_.reset();
  if (stdin_write_.valid()) {
    RETURN_IF_ERROR(OpenStdin());
    RETURN_IF_ERROR(StartCopy(std::move(stdin_fifo_), std::move(stdin_write_), "stdin", false));
    stdin_copier_ = copiers_.back().get();
  }
  if (stdout_read_.valid()) {
    RETURN_IF_ERROR(StartCopy(std::move(stdout_read_), std::move(stdout_target_), "stdout", true));
  }
  if (stderr_read_.valid()) {
    RETURN_IF_ERROR(StartCopy(std::move(stderr_read_), std::move(stderr_target_), "stderr", true));
  }
  return absl::OkStatus();
}

absl::Status ProcessIo::AttachConsole(sys::UniqueFd master) {
  console_ = std::move(master);
  if (!config_.stdio.stdin_path.empty()) {
    RETURN_IF_ERROR(OpenStdin());
    ASSIGN_OR_RETURN(sys::UniqueFd in, Dup(console_.get()));
    RETURN_IF_ERROR(StartCopy(std::move(stdin_fifo_), std::move(in), "stdin", false));
  }
  if (stdout_target_.valid()) {
    ASSIGN_OR_RETURN(sys::UniqueFd out, Dup(console_.get()));
    RETURN_IF_ERROR(StartCopy(std::move(out), std::move(stdout_target_), "console", true));
    console_output_ = copiers_.back().get();
  }
  return absl::OkStatus();
}

absl::Status ProcessIo::Resize(uint32_t width, uint32_t height) {
  if (!console_.valid()) return absl::OkStatus();
  return ResizeConsole(console_.get(), width, height);
}

// CloseIO: the process reads EOF once what the client wrote has been passed on.
void ProcessIo::CloseStdin() {
  if (stdin_copier_ != nullptr) stdin_copier_->FinishWhenEmpty();
}

void ProcessIo::ShutdownConsole() {
  if (console_output_ != nullptr && !console_output_->done()) console_output_->FinishWhenEmpty();
}

void ProcessIo::OutputDone() {
  if (--active_outputs_ > 0) return;
  std::vector<std::function<void()>> waiters = std::move(drained_waiters_);
  drained_waiters_.clear();
  for (auto& fn : waiters) loop_->Post(std::move(fn));
}

void ProcessIo::WhenDrained(absl::Duration timeout, std::function<void()> fn) {
  if (drained()) {
    loop_->Post(std::move(fn));
    return;
  }
  auto once = std::make_shared<std::function<void()>>(std::move(fn));
  auto run = [once]() {
    if (!*once) return;
    std::function<void()> f = std::move(*once);
    *once = nullptr;
    f();
  };
  drained_waiters_.push_back(run);
  loop_->After(timeout, run);
}

}  // namespace berth::shim
