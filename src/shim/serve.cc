// The serving shim (see actions.h): one thread, one EventLoop over the ttrpc socket, the
// signalfd (SIGCHLD -> the Reaper; SIGTERM/SIGINT -> exit), the processes' stdio and the event
// publisher's connection.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/status.h"
#include "shim/actions.h"
#include "shim/bundle.h"
#include "shim/memory.h"
#include "shim/publisher.h"
#include "shim/reaper.h"
#include "shim/task_service.h"
#include "sys/event_loop.h"
#include "sys/file.h"
#include "sys/unique_fd.h"
#include "ttrpc/server.h"

namespace berth::shim {
namespace {

// After Shutdown, how long queued events may still take to reach the daemon.
constexpr absl::Duration kPublisherDrainTimeout = absl::Seconds(5);
// The shim gives back memory it is not using (memory.h) this long after its last activity (a
// request, an exit): a busy shim keeps its pages, an idle one sheds them, and an idle shim is
// never woken up for it.
constexpr absl::Duration kTrimDelay = absl::Seconds(1);

class Trimmer {
 public:
  explicit Trimmer(sys::EventLoop* loop) : loop_(loop) {}
  void Activity() {
    if (pending_) loop_->Cancel(timer_);
    pending_ = true;
    timer_ = loop_->After(kTrimDelay, [this]() {
      pending_ = false;
      TrimMemory();
    });
  }

 private:
  sys::EventLoop* loop_;
  bool pending_ = false;
  sys::EventLoop::TimerId timer_ = 0;
};

// The shim's log goes to the FIFO `log` in the bundle, which the daemon created and reads. Opened
// non-blocking: with no reader (ENXIO) stderr stays as it is (/dev/null when started by `start`),
// and a full FIFO drops a log line instead of stalling the loop.
void RedirectLog(const std::string& bundle) {
  std::string path = JoinPath(bundle, "log");
  sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return;
  ::dup2(fd.get(), STDERR_FILENO);
}

absl::StatusOr<sys::UniqueFd> Listener(const Flags& flags) {
  if (!flags.socket.empty()) {
    absl::string_view path = flags.socket;
    absl::ConsumePrefix(&path, "unix://");
    return ttrpc::ListenUnix(std::string(path));
  }
  // `start` passes the listening socket as fd 3.
  struct stat st;
  if (::fstat(3, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        "no socket to serve: run the shim with the `start` action, or give -socket");
  }
  ::fcntl(3, F_SETFD, FD_CLOEXEC);  // containers must not inherit it
  return sys::UniqueFd(3);
}

std::string SocketToRemove(const Flags& flags, const std::string& bundle) {
  absl::string_view path = flags.socket;
  std::string address;
  if (path.empty()) {
    auto read = sys::ReadFile(JoinPath(bundle, "address"));
    if (!read.ok()) return "";
    address = *std::move(read);
    path = absl::StripAsciiWhitespace(address);
  }
  absl::ConsumePrefix(&path, "unix://");
  return std::string(path);
}

absl::Status Serve(const Flags& flags) {
  if (flags.namespace_.empty()) return absl::InvalidArgumentError("shim namespace cannot be empty");
  std::string bundle = flags.bundle;
  if (bundle.empty()) {
    char buf[4096];
    if (::getcwd(buf, sizeof(buf)) == nullptr) return ErrnoError(errno, "getcwd");
    bundle = buf;
  }
  RedirectLog(bundle);
  if (flags.debug) log::SetLevel(log::Level::kDebug);
  // Read now: by the time the shim exits, the daemon may have removed the bundle.
  std::string socket_path = SocketToRemove(flags, bundle);

  // Container processes are re-parented to the shim when the runtime exits.
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return ErrnoError(errno, "set child subreaper");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) return ErrnoError(errno, "sigprocmask");
  ::signal(SIGPIPE, SIG_IGN);
  sys::UniqueFd signals(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signals.valid()) return ErrnoError(errno, "signalfd");

  ASSIGN_OR_RETURN(sys::UniqueFd listener, Listener(flags));
  ASSIGN_OR_RETURN(std::unique_ptr<sys::EventLoop> loop, sys::EventLoop::Create());
  sys::EventLoop* l = loop.get();

  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  Reaper reaper(l);
  Publisher publisher(l, ttrpc_address != nullptr ? ttrpc_address : "", flags.namespace_);
  ttrpc::Server server(l);

  bool stopping = false;
  // Stop once the queued events are out (or after a while): containerd calls Shutdown right
  // after Delete, whose /tasks/delete event may still be on its way.
  auto stop = [&stopping, &publisher, l]() {
    if (stopping) return;
    stopping = true;
    auto stop_loop = [l]() { l->After(absl::Milliseconds(20), [l]() { l->Stop(); }); };
    publisher.WhenIdle(stop_loop);
    l->After(kPublisherDrainTimeout, [l]() { l->Stop(); });
  };
  Trimmer trimmer(l);
  TaskService service(l, &reaper, &publisher, {flags.namespace_, flags.address, stop, [&trimmer]() {
                                                 trimmer.Activity();
                                               }});
  service.Register(&server);
  RETURN_IF_ERROR(server.Serve(std::move(listener)));

  RETURN_IF_ERROR(l->Add(signals.get(), EPOLLIN, [&](uint32_t) {
    signalfd_siginfo info;
    while (::read(signals.get(), &info, sizeof(info)) == sizeof(info)) {
      if (info.ssi_signo == SIGCHLD) {
        reaper.Reap();
      } else {
        log::Info("exit signal received", {{"signal", info.ssi_signo}});
        l->Stop();  // containerd's shim exits at once, leaving its containers running
      }
    }
  }));
  trimmer.Activity();  // start-up itself
  log::Info(
      "shim serving",
      {{"pid", ::getpid()}, {"namespace", flags.namespace_}, {"id", flags.id}, {"path", bundle}});
  absl::Status run = l->Run();
  l->Remove(signals.get());
  if (!socket_path.empty()) ::unlink(socket_path.c_str());
  log::Info("shim exiting", {{"pid", ::getpid()}});
  return run;
}

}  // namespace

int RunServe(const Flags& flags) {
  absl::Status st = Serve(flags);
  if (!st.ok()) {
    log::Error("shim failed", {{"error", st.ToString()}});
    std::fprintf(stderr, "containerd-shim-berth-v2: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace berth::shim
