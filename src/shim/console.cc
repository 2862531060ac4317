#include "shim/console.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "sys/file.h"

namespace berth::shim {

absl::StatusOr<std::unique_ptr<ConsoleSocket>> ConsoleSocket::Create() {
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/ptyXXXXXX");
  if (::mkdtemp(templ.data()) == nullptr) return ErrnoError(errno, "create console socket dir");
  std::string dir = templ;
  std::string path = absl::StrCat(dir, "/pty.sock");
  auto fail = [&dir](absl::Status st) {
    (void)sys::RemoveAll(dir);
    return st;
  };
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) {
    return fail(absl::InvalidArgumentError(absl::StrCat("console socket path too long: ", path)));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  sys::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return fail(ErrnoError(errno, "console socket"));
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 1) != 0) {
    return fail(ErrnoError(errno, absl::StrCat("listen on console socket ", path)));
  }
  return std::unique_ptr<ConsoleSocket>(new ConsoleSocket(dir, path, std::move(fd)));
}

ConsoleSocket::~ConsoleSocket() {
  listener_.reset();
  (void)sys::RemoveAll(dir_);
}

absl::StatusOr<sys::UniqueFd> ConsoleSocket::ReceiveMaster(absl::Duration timeout) {
  pollfd p = {listener_.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return ErrnoError(errno, "poll console socket");
  if (ready == 0) {
    return absl::DeadlineExceededError("the OCI runtime did not send the console master");
  }
  sys::UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn.valid()) return ErrnoError(errno, "accept on console socket");

  // runc sends the pty's name as data and the master as one SCM_RIGHTS fd.
  char name[4096];
  iovec iov = {name, sizeof(name)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError(errno, "receive console master");
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof(fd));
      return sys::UniqueFd(fd);
    }
  }
  return absl::InternalError("console socket: no file descriptor received");
}

absl::Status ResizeConsole(int master, uint32_t width, uint32_t height) {
  winsize ws{};
  ws.ws_col = static_cast<unsigned short>(width);
  ws.ws_row = static_cast<unsigned short>(height);
  if (::ioctl(master, TIOCSWINSZ, &ws) != 0) return ErrnoError(errno, "resize console");
  return absl::OkStatus();
}

}  // namespace berth::shim
