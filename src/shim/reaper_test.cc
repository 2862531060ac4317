#include "shim/reaper.h"

#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"
#include "shim/child.h"

namespace berth::shim {
namespace {

pid_t ExitingChild(int code) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(code);
  return pid;
}

// Reaps until `pid` is gone (signals are not used here: Reap is called directly).
void ReapUntilGone(Reaper& reaper, pid_t pid) {
  for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) {
    reaper.Reap();
    ::usleep(5000);
  }
  reaper.Reap();
}

class ReaperTest : public ::testing::Test {
 protected:
  void SetUp() override { loop_ = *sys::EventLoop::Create(); }
  void RunPosted() {
    loop_->Post([this]() { loop_->Stop(); });
    ASSERT_TRUE(loop_->Run().ok());
  }
  std::unique_ptr<sys::EventLoop> loop_;
};

TEST_F(ReaperTest, WatchedExitRunsCallback) {
  Reaper reaper(loop_.get());
  pid_t pid = ExitingChild(3);
  int status = -1;
  reaper.Watch(pid, [&status](int s, absl::Time) { status = ExitStatusFromWait(s); });
  ReapUntilGone(reaper, pid);
  EXPECT_EQ(status, 3);
}

TEST_F(ReaperTest, ExitBeforeWatchIsKeptAndPosted) {
  Reaper reaper(loop_.get());
  pid_t pid = ExitingChild(7);
  ReapUntilGone(reaper, pid);  // nobody watches yet
  int status = -1;
  reaper.Watch(pid, [&status](int s, absl::Time) { status = ExitStatusFromWait(s); });
  EXPECT_EQ(status, -1);  // never inside Watch
  RunPosted();
  EXPECT_EQ(status, 7);
}

TEST_F(ReaperTest, UnwatchedPidsDoNotFireOthers) {
  Reaper reaper(loop_.get());
  pid_t other = ExitingChild(1);
  bool fired = false;
  reaper.Watch(other + 100000, [&fired](int, absl::Time) { fired = true; });
  ReapUntilGone(reaper, other);
  RunPosted();
  EXPECT_FALSE(fired);
}

TEST(ExitStatusTest, CodeOrSignal) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  ::kill(pid, SIGKILL);
  auto status = WaitPid(pid);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(ExitStatusFromWait(*status), 137);
}

}  // namespace
}  // namespace berth::shim
