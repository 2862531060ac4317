#include "sys/process.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace berth::sys {
namespace {

TEST(RunProcessTest, CapturesOutputStatusAndStdin) {
  RunOptions o;
  o.stdin_data = "from stdin";
  o.env = {{"BERTH_TEST_VAR", "value"}};
  o.cwd = "/usr";
  auto r = RunProcess({"/bin/sh", "-c", "cat; echo \" $BERTH_TEST_VAR $(pwd)\"; echo oops >&2; exit 3"},
                      o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, "from stdin value /usr\n");
  EXPECT_EQ(r->err, "oops\n");
  EXPECT_EQ(r->exit_code, 3);
}

TEST(RunProcessTest, LargeOutputOnBothStreams) {
  auto r = RunProcess({"/bin/sh", "-c", "head -c 300000 /dev/zero; head -c 200000 /dev/zero >&2"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out.size(), 300000u);
  EXPECT_EQ(r->err.size(), 200000u);
}

TEST(RunProcessTest, SignalledChildAndPathLookup) {
  auto r = RunProcess({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 128 + 9);
}

TEST(RunProcessTest, MissingBinaryIsNotFound) {
  auto r = RunProcess({"/nonexistent/berth-no-such-binary"});
  EXPECT_TRUE(absl::IsNotFound(r.status())) << r.status();
}

TEST(RunProcessTest, TimeoutKillsTheChild) {
  RunOptions o;
  o.timeout = absl::Milliseconds(200);
  auto r = RunProcess({"/bin/sleep", "30"}, o);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
}

TEST(PidfdOpenTest, ReadableOnlyOnceTheChildHasExited) {
  int gate[2];
  ASSERT_EQ(::pipe(gate), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {  // waits for the parent's byte, then exits 7
    ::close(gate[1]);
    char c;
    (void)!::read(gate[0], &c, 1);
    ::_exit(7);
  }
  ::close(gate[0]);
  auto pidfd = PidfdOpen(pid);
  ASSERT_TRUE(pidfd.ok()) << pidfd.status();
  pollfd p = {pidfd->get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 50), 0) << "readable while the child still runs";
  ASSERT_EQ(::write(gate[1], "x", 1), 1);
  ::close(gate[1]);
  EXPECT_EQ(::poll(&p, 1, 10000), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, WNOHANG), pid) << "pidfd readable before the exit";
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

TEST(PidfdOpenTest, NoSuchProcessIsAnError) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(pid, nullptr, 0), pid);  // reaped: the pid no longer names a process
  EXPECT_FALSE(PidfdOpen(pid).ok());
}

}  // namespace
}  // namespace berth::sys
