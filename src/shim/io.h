// A process's stdio plumbing (containerd's pkg/process/io.go and the runc shim's console
// platform), run on the shim's loop with Copiers instead of goroutines:
//
//   FIFOs (ctr, berth):   client FIFO ──▶ [stdin pipe] ──▶ process
//                         process ──▶ [stdout pipe] ──splice──▶ client FIFO     (stderr likewise)
//   file:///p:            stdout and stderr pipes appended to one file
//   binary:///p?k=v:      the process writes straight into pipes a logging binary reads (fd 3/4)
//   terminal:             client stdin FIFO ──▶ pty master ──▶ client stdout FIFO
//   nothing (""):         /dev/null
//
// The shim opens the client's output FIFOs read-write, so that the process never sees its output
// vanish while the daemon or client is away: a client that re-attaches (after a daemon restart)
// continues the stream. Output FIFOs are closed when the process's side of the stream ends, which
// is how the client learns of EOF. The stdin FIFO is only read: when the client closes its end
// (ctr does at the end of its input), the process reads EOF, as with containerd's shim.
//
// Thread-safety: loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shim/copier.h"
#include "shim/reaper.h"
#include "shim/stdio.h"
#include "sys/event_loop.h"
#include "sys/unique_fd.h"

namespace berth::shim {

class ProcessIo {
 public:
  struct Config {
    Stdio stdio;
    std::string id;  // CONTAINER_ID for a logging binary (the container's id)
    std::string ns;  // CONTAINER_NAMESPACE
    uid_t uid = 0;   // owner of the process's pipe ends (containerd's io_uid/io_gid)
    gid_t gid = 0;
  };

  // Opens the client's FIFOs/files, creates the pipes, and starts a logging binary (waiting for
  // it to be ready). Errors name the stream and path, as containerd's do.
  static absl::StatusOr<std::unique_ptr<ProcessIo>> Create(sys::EventLoop* loop, Reaper* reaper,
                                                           Config config);
  ~ProcessIo();  // stops copying, closes everything, terminates a logging binary

  // The runtime's stdio for `create`/`exec` (-1: /dev/null).
  int runtime_stdin() const { return runtime_stdin_.valid() ? runtime_stdin_.get() : -1; }
  int runtime_stdout() const { return runtime_stdout_.valid() ? runtime_stdout_.get() : -1; }
  int runtime_stderr() const { return runtime_stderr_.valid() ? runtime_stderr_.get() : -1; }

  // After the runtime created the process: closes the shim's copies of the process's pipe ends
  // and starts copying.
  absl::Status Start();
  // Terminal: takes the pty master and copies stdin into it and its output to stdout.
  absl::Status AttachConsole(sys::UniqueFd master);
  // TIOCSWINSZ on the pty master; OK without a terminal (containerd ignores it too).
  absl::Status Resize(uint32_t width, uint32_t height);
  // CloseIO: the process reads EOF once what the client wrote so far has been passed on.
  void CloseStdin();
  // The process exited: the console's output ends once what is buffered has been read.
  void ShutdownConsole();

  // Whether all output (stdout, stderr, console) has been copied out.
  bool drained() const { return active_outputs_ == 0; }
  // Runs `fn` once, on the loop, when drained() or after `timeout` (containerd waits 2 s for the
  // copies before deleting a process).
  void WhenDrained(absl::Duration timeout, std::function<void()> fn);

 private:
  ProcessIo(sys::EventLoop* loop, Reaper* reaper, Config config);
  absl::Status OpenStdin();
  absl::Status StartLogger(const StdioUri& uri, sys::UniqueFd out_read, sys::UniqueFd err_read);
  absl::Status StartCopy(sys::UniqueFd src, sys::UniqueFd dst, const char* name, bool output);
  void OutputDone();

  sys::EventLoop* loop_;
  Reaper* reaper_;
  Config config_;

  // What the runtime gets, closed by Start().
  sys::UniqueFd runtime_stdin_;
  sys::UniqueFd runtime_stdout_;
  sys::UniqueFd runtime_stderr_;
  // The shim's ends, handed to copiers by Start().
  sys::UniqueFd stdin_write_;  // into the process's stdin pipe
  sys::UniqueFd stdout_read_;  // from the process's stdout pipe
  sys::UniqueFd stderr_read_;
  sys::UniqueFd stdin_fifo_;     // reader of the client's stdin FIFO
  Copier* stdin_copier_ = nullptr;  // in copiers_, when stdin is a FIFO copied to a pipe
  sys::UniqueFd stdout_target_;  // client FIFO (read-write) or file
  sys::UniqueFd stderr_target_;
  sys::UniqueFd console_;  // pty master (terminal)

  std::vector<std::unique_ptr<Copier>> copiers_;
  Copier* console_output_ = nullptr;
  int active_outputs_ = 0;

  struct Logger;
  std::shared_ptr<Logger> logger_;

  std::vector<std::function<void()>> drained_waiters_;
  std::shared_ptr<ProcessIo*> self_;
};

}  // namespace berth::shim
