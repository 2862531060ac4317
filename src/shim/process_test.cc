#include "shim/process.h"

#include "gtest/gtest.h"

namespace berth::shim {
namespace {

State Next(Kind kind, State from, Op op) {
  auto next = Transition(kind, from, op);
  EXPECT_TRUE(next.ok()) << next.status();
  return next.ok() ? *next : from;
}

absl::Status Refused(Kind kind, State from, Op op) {
  auto next = Transition(kind, from, op);
  EXPECT_FALSE(next.ok());
  return next.status();
}

TEST(TransitionTest, InitLifecycle) {
  EXPECT_EQ(Next(Kind::kInit, State::kCreated, Op::kStart), State::kRunning);
  EXPECT_EQ(Next(Kind::kInit, State::kRunning, Op::kPause), State::kPaused);
  EXPECT_EQ(Next(Kind::kInit, State::kPaused, Op::kResume), State::kRunning);
  EXPECT_EQ(Next(Kind::kInit, State::kRunning, Op::kExit), State::kStopped);
  EXPECT_EQ(Next(Kind::kInit, State::kPaused, Op::kExit), State::kStopped);
  EXPECT_EQ(Next(Kind::kInit, State::kCreated, Op::kExit), State::kStopped);
  EXPECT_EQ(Next(Kind::kInit, State::kStopped, Op::kDelete), State::kDeleted);
  EXPECT_EQ(Next(Kind::kInit, State::kCreated, Op::kDelete), State::kDeleted);
  // Operations that leave the state alone.
  EXPECT_EQ(Next(Kind::kInit, State::kRunning, Op::kKill), State::kRunning);
  EXPECT_EQ(Next(Kind::kInit, State::kCreated, Op::kExec), State::kCreated);
  EXPECT_EQ(Next(Kind::kInit, State::kPaused, Op::kUpdate), State::kPaused);
  EXPECT_EQ(Next(Kind::kInit, State::kStopped, Op::kExit), State::kStopped);
  EXPECT_EQ(Next(Kind::kInit, State::kDeleted, Op::kExit), State::kDeleted);
}

TEST(TransitionTest, InitRefusalsCarryContainerdsErrors) {
  absl::Status st = Refused(Kind::kInit, State::kRunning, Op::kStart);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(st.message(), "cannot start a running process");
  EXPECT_EQ(Refused(Kind::kInit, State::kRunning, Op::kDelete).message(),
            "cannot delete a running process");
  EXPECT_EQ(Refused(Kind::kInit, State::kCreated, Op::kPause).message(),
            "cannot pause task in created state");
  EXPECT_EQ(Refused(Kind::kInit, State::kPaused, Op::kPause).message(),
            "cannot pause a paused container");
  EXPECT_EQ(Refused(Kind::kInit, State::kPaused, Op::kExec).message(),
            "cannot exec in a paused state");
  EXPECT_EQ(Refused(Kind::kInit, State::kStopped, Op::kExec).message(),
            "cannot exec in a stopped state");
  st = Refused(Kind::kInit, State::kStopped, Op::kKill);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "process already finished: not found");
  st = Refused(Kind::kInit, State::kDeleted, Op::kDelete);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "cannot delete a deleted process: not found");
}

TEST(TransitionTest, ExecLifecycle) {
  EXPECT_EQ(Next(Kind::kExec, State::kCreated, Op::kStart), State::kRunning);
  EXPECT_EQ(Next(Kind::kExec, State::kRunning, Op::kExit), State::kStopped);
  EXPECT_EQ(Next(Kind::kExec, State::kStopped, Op::kDelete), State::kDeleted);
  EXPECT_EQ(Next(Kind::kExec, State::kCreated, Op::kDelete), State::kDeleted);
  EXPECT_EQ(Next(Kind::kExec, State::kRunning, Op::kResize), State::kRunning);
  absl::Status st = Refused(Kind::kExec, State::kCreated, Op::kKill);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.message(), "process not created: failed precondition");
  st = Refused(Kind::kExec, State::kStopped, Op::kKill);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Refused(Kind::kExec, State::kStopped, Op::kResize).message(),
            "cannot resize a stopped container");
  EXPECT_EQ(Refused(Kind::kExec, State::kRunning, Op::kDelete).message(),
            "cannot delete a running process");
  // Container-wide operations are never asked of an exec'd process.
  EXPECT_EQ(Refused(Kind::kExec, State::kRunning, Op::kPause).code(), absl::StatusCode::kInternal);
}

TEST(ProcessTest, SetExitedOnceAndWaiters) {
  Process p(Kind::kExec, "e1", Stdio{});
  EXPECT_EQ(p.exited_at(), absl::InfinitePast());
  p.Commit(*p.Check(Op::kStart));
  int woken = 0;
  p.AddWaiter([&woken]() { ++woken; });
  absl::Time t = absl::FromUnixSeconds(1000);
  EXPECT_TRUE(p.SetExited(137, t));
  EXPECT_FALSE(p.SetExited(0, absl::FromUnixSeconds(2000)));  // the first exit stands
  EXPECT_EQ(p.state(), State::kStopped);
  EXPECT_EQ(p.exit_status(), 137);
  EXPECT_EQ(p.exited_at(), t);
  for (auto& w : p.TakeWaiters()) w();
  EXPECT_EQ(woken, 1);
  EXPECT_TRUE(p.TakeWaiters().empty());
  EXPECT_EQ(StateName(State::kDeleted), "stopped");
}

}  // namespace
}  // namespace berth::shim
