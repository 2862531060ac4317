// Integration-test support: a real berthd on a private temp root, state dir and socket, plus
// helpers to run other binaries (ctr, dockerd, sqlite3) as child processes.
//
// Every process started here is a direct child of the test, is signalled by its PID only (never
// by name) and is reaped; every temp dir is removed in a destructor, so a failing assertion in the
// middle of a test leaves nothing running and nothing on disk.
// Thread-safety: none of these objects is synchronized; use each from one thread (the test's).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/client.h"

namespace berth::test {

// Paths of the binaries under test, compiled in by test/CMakeLists.txt.
inline constexpr char kBerthdPath[] = BERTHD_PATH;
inline constexpr char kCtrPath[] = "/usr/bin/ctr";
// The source tree (scripts/make-test-images.sh builds the test images from it).
inline constexpr char kSourceDir[] = BERTH_SOURCE_DIR;

// A fresh directory under /tmp (mkdtemp), removed recursively by the destructor. Mounts left
// below it (dockerd's overlay2) are lazily unmounted first, so removal never crosses into them.
class TempDir {
 public:
  explicit TempDir(absl::string_view prefix = "berth-it");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(absl::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Unmounts (MNT_DETACH) every mount point at or below `dir`, deepest first.
void UnmountBelow(const std::string& dir);

struct CommandResult {
  // The exit code, or -1 when the child was killed by a signal (see term_signal).
  int exit_code = -1;
  int term_signal = 0;
  bool timed_out = false;
  std::string out;
  std::string err;
  // "exit 1\nstdout: ...\nstderr: ..." for assertion messages.
  std::string Describe() const;
};

// Runs `argv` (argv[0] is a path; no PATH lookup) to completion, feeding `stdin_data` and capturing
// stdout and stderr. A child still running after `timeout` is killed (SIGKILL, by its PID) and
// reaped.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         absl::Duration timeout = absl::Seconds(30),
                         absl::string_view stdin_data = "");

// A child process running in the background with stdout and stderr appended to files.
// The destructor SIGKILLs it (by PID) if still running, and reaps it.
class Process {
 public:
  // Starts `argv`; stdin is /dev/null. Empty paths send that stream to /dev/null. The child gets
  // `death_signal` if the test process dies first. Call from the test's main thread only (the
  // death signal follows the thread that forked).
  static absl::StatusOr<std::unique_ptr<Process>> Spawn(const std::vector<std::string>& argv,
                                                        const std::string& stdout_path,
                                                        const std::string& stderr_path,
                                                        int death_signal = SIGKILL);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // True until the child has exited (reaps it when it has).
  bool Running();
  void Signal(int sig);
  // Waits up to `timeout` for the child to exit; its wait status, or nullopt on timeout.
  std::optional<int> Wait(absl::Duration timeout);
  // The wait status once exited.
  std::optional<int> status() const { return status_; }

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
  std::optional<int> status_;
};

// Polls `done` every `interval` until it returns true or `timeout` passes; returns its last value.
bool WaitFor(const std::function<bool()>& done, absl::Duration timeout,
             absl::Duration interval = absl::Milliseconds(20));

std::string ReadFileOrEmpty(const std::string& path);
void WriteFileOrDie(const std::string& path, absl::string_view data);
// The "Threads:" count of /proc/PID/status; -1 if unreadable.
int ThreadCount(pid_t pid);
// "exit N" / "signal N" for a wait status.
std::string DescribeWaitStatus(int status);

// One berthd on its own temp dir: DIR/root, DIR/state, DIR/berthd.sock; its stderr (the log) is
// appended to DIR/berthd.log across restarts.
class Berthd {
 public:
  Berthd();
  // Kills berthd (SIGKILL) if still running, then removes the temp dir.
  ~Berthd();

  // Starts berthd with --root/--state/--address (unless `default_paths` is false) plus `extra`,
  // and waits up to 10 s until Version answers on the socket. On failure the message holds the log.
  ::testing::AssertionResult Start(const std::vector<std::string>& extra = {},
                                   bool default_paths = true);
  // SIGTERM; asserts that berthd exits with code 0 within `timeout`.
  ::testing::AssertionResult Stop(absl::Duration timeout = absl::Seconds(10));
  // Sends `sig` and waits for the process to die (for SIGKILL, or a signal that ends it).
  ::testing::AssertionResult Kill(int sig = SIGKILL);
  ::testing::AssertionResult Restart();

  // A client of this daemon for namespace `ns` ("" sends no namespace header).
  std::unique_ptr<client::Client> NewClient(const std::string& ns,
                                            absl::Duration timeout = absl::Seconds(10));

  bool running() { return process_ != nullptr && process_->Running(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  Process* process() { return process_.get(); }
  const std::string& dir() const { return dir_.path(); }
  std::string root() const { return dir_.Sub("root"); }
  std::string state() const { return dir_.Sub("state"); }
  std::string socket() const { return dir_.Sub("berthd.sock"); }
  std::string log_path() const { return dir_.Sub("berthd.log"); }
  std::string Log() const { return ReadFileOrEmpty(log_path()); }
  // Runs berthd through `wrapper` (a command that execs its arguments, keeping the PID), e.g.
  // PrivateMountNamespaceWithoutCgroup2() for crun. Takes effect at the next Start.
  void set_wrapper(std::vector<std::string> wrapper) { wrapper_ = std::move(wrapper); }
  // Overrides the socket that readiness is checked on (for a config file's own address).
  void set_socket_override(std::string path) { socket_override_ = std::move(path); }

 private:
  std::string ReadySocket() const { return socket_override_.empty() ? socket() : socket_override_; }

  TempDir dir_;
  std::string socket_override_;
  std::vector<std::string> wrapper_;
  std::unique_ptr<Process> process_;
};

// A wrapper for Berthd::set_wrapper: a private mount namespace without the hybrid host's cgroup2
// mount at /sys/fs/cgroup/unified, which crun 1.8 refuses to run beside. berthd and the shims it
// starts (and so crun) live in it; mounts made there vanish with it.
inline std::vector<std::string> PrivateMountNamespaceWithoutCgroup2() {
  return {"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
          "umount /sys/fs/cgroup/unified 2>/dev/null; exec \"$0\" \"$@\""};
}

// A started berthd and a client whose namespace is unique to the test.
class DaemonTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Restarts the daemon and reconnects client_ (same namespace). Call through
  // ASSERT_NO_FATAL_FAILURE: on failure client_ is left null.
  void Restart();
  // A name unique within this test process, usable as a namespace or container id.
  static std::string UniqueName(absl::string_view prefix);

  Berthd daemon_;
  std::string ns_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace berth::test
