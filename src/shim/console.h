// The console socket of runc's --console-socket protocol: the shim listens on a unix socket in a
// fresh temporary directory; the runtime connects after creating the process's pty and sends the
// master end as SCM_RIGHTS ancillary data. The shim then owns the master: it copies stdio through
// it (io.h) and resizes it (ResizePty).
//
// Thread-safety: a value owned by one caller on the loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sys/unique_fd.h"

namespace berth::shim {

class ConsoleSocket {
 public:
  // Listens on <tmp>/pty<random>/pty.sock.
  static absl::StatusOr<std::unique_ptr<ConsoleSocket>> Create();
  ~ConsoleSocket();  // closes the socket and removes the directory

  const std::string& path() const { return path_; }

  // Accepts the runtime's connection and receives the master. The runtime has already connected
  // (it exited successfully), so this waits at most `timeout` for a slow one.
  absl::StatusOr<sys::UniqueFd> ReceiveMaster(absl::Duration timeout = absl::Seconds(30));

 private:
  ConsoleSocket(std::string dir, std::string path, sys::UniqueFd listener)
      : dir_(std::move(dir)), path_(std::move(path)), listener_(std::move(listener)) {}

  std::string dir_;
  std::string path_;
  sys::UniqueFd listener_;
};

// TIOCSWINSZ on a pty master.
absl::Status ResizeConsole(int master, uint32_t width, uint32_t height);

}  // namespace berth::shim
