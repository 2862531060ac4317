#include "sys/event_loop.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sys/unique_fd.h"

namespace berth::sys {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  auto loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status();
  return std::move(loop).value();
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe NewPipe() {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Stops the loop after `timeout` in case a test's own Stop never comes.
void Watchdog(EventLoop* loop, absl::Duration timeout = absl::Seconds(10)) {
  loop->After(timeout, [loop] {
    ADD_FAILURE() << "watchdog fired";
    loop->Stop();
  });
}

TEST(EventLoopTest, PostRunsOnTheLoopThreadInOrder) {
  auto loop = NewLoop();
  EXPECT_FALSE(loop->InLoopThread());
  std::vector<int> order;
  bool in_loop = false;
  loop->Post([&] { order.push_back(1); });
  loop->Post([&] {
    order.push_back(2);
    in_loop = loop->InLoopThread();
    loop->Post([&] {
      order.push_back(3);
      loop->Stop();
    });
  });
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(in_loop);
  EXPECT_FALSE(loop->InLoopThread());
}

TEST(EventLoopTest, PostFromAnotherThreadWakesABlockedLoop) {
  auto loop = NewLoop();
  std::thread::id ran_on;
  std::thread poster([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    loop->Post([&] {
      ran_on = std::this_thread::get_id();
      loop->Stop();
    });
  });
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(EventLoopTest, StopFromAnotherThreadAndBeforeRun) {
  auto loop = NewLoop();
  loop->Stop();
  ASSERT_TRUE(loop->Run().ok()) << "a Stop before Run makes Run return";
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    loop->Stop();
  });
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  stopper.join();
}

TEST(EventLoopTest, RunTwiceAtOnceFails) {
  auto loop = NewLoop();
  absl::Status second;
  loop->Post([&] {
    std::thread t([&] { second = loop->Run(); });
    t.join();
    loop->Stop();
  });
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(EventLoopTest, FdCallbacksSeeEventsAndCanModify) {
  auto loop = NewLoop();
  Pipe p = NewPipe();
  std::string got;
  int writable_calls = 0;
  ASSERT_TRUE(loop->Add(p.read.get(), EPOLLIN, [&](uint32_t events) {
                    EXPECT_TRUE(events & EPOLLIN);
                    char buf[16];
                    ssize_t n = read(p.read.get(), buf, sizeof(buf));
                    ASSERT_GT(n, 0);
                    got.append(buf, n);
                    if (got == "hello") {
                      loop->Remove(p.read.get());
                      loop->Stop();
                    }
                  }).ok());
  ASSERT_TRUE(loop->Add(p.write.get(), 0, [&](uint32_t events) {
                    EXPECT_TRUE(events & EPOLLOUT);
                    ++writable_calls;
                    ASSERT_EQ(write(p.write.get(), "hello", 5), 5);
                    ASSERT_TRUE(loop->Modify(p.write.get(), 0).ok());
                  }).ok());
  EXPECT_EQ(loop->Add(p.read.get(), EPOLLIN, [](uint32_t) {}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(loop->Modify(12345, EPOLLIN).code(), absl::StatusCode::kNotFound);
  loop->Remove(12345);  // not registered: no-op
  ASSERT_TRUE(loop->Modify(p.write.get(), EPOLLOUT).ok());
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(got, "hello");
  EXPECT_EQ(writable_calls, 1);
  loop->Remove(p.write.get());
}

TEST(EventLoopTest, RemovedDuringABatchIsNotCalled) {
  auto loop = NewLoop();
  Pipe a = NewPipe();
  Pipe b = NewPipe();
  ASSERT_EQ(write(a.write.get(), "x", 1), 1);
  ASSERT_EQ(write(b.write.get(), "x", 1), 1);
  int calls = 0;
  // Both are readable before Run, so both events come in the first epoll_wait batch; whichever
  // runs first removes the other (and closes it, as the shim does).
  auto make_callback = [&](Pipe* self, Pipe* other) {
    return [&, self, other](uint32_t) {
      ++calls;
      loop->Remove(other->read.get());
      other->read.reset();
      loop->Remove(self->read.get());
      loop->Post([&] { loop->Stop(); });
    };
  };
  ASSERT_TRUE(loop->Add(a.read.get(), EPOLLIN, make_callback(&a, &b)).ok());
  ASSERT_TRUE(loop->Add(b.read.get(), EPOLLIN, make_callback(&b, &a)).ok());
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(calls, 1);
}

TEST(EventLoopTest, ReaddedFdDoesNotGetTheOldRegistrationsEvents) {
  auto loop = NewLoop();
  Pipe a = NewPipe();
  Pipe b = NewPipe();
  ASSERT_EQ(write(a.write.get(), "x", 1), 1);
  ASSERT_EQ(write(b.write.get(), "x", 1), 1);
  std::vector<std::string> calls;
  // Whichever runs first replaces the other's registration; the replacement must only be called
  // for events that came after it was added (the pipe stays readable, so it is called later).
  auto make_callback = [&](Pipe* self, Pipe* other, std::string name) {
    return [&, self, other, name](uint32_t) {
      calls.push_back(name);
      loop->Remove(self->read.get());
      loop->Remove(other->read.get());
      ASSERT_TRUE(loop->Add(other->read.get(), EPOLLIN, [&](uint32_t) {
                        calls.push_back("new");
                        loop->Stop();
                      }).ok());
    };
  };
  ASSERT_TRUE(loop->Add(a.read.get(), EPOLLIN, make_callback(&a, &b, "a")).ok());
  ASSERT_TRUE(loop->Add(b.read.get(), EPOLLIN, make_callback(&b, &a, "b")).ok());
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[1], "new");
  loop->Remove(a.read.get());
  loop->Remove(b.read.get());
}

TEST(EventLoopTest, CallbackMayRemoveItselfAndDestroyItsCaptures) {
  auto loop = NewLoop();
  Pipe p = NewPipe();
  ASSERT_EQ(write(p.write.get(), "x", 1), 1);
  auto owned = std::make_shared<std::string>("still alive");
  std::weak_ptr<std::string> weak = owned;
  std::string seen;
  ASSERT_TRUE(loop->Add(p.read.get(), EPOLLIN, [&, owned](uint32_t) {
                    loop->Remove(p.read.get());
                    // The callback object stays alive until it returns.
                    seen = *owned;
                    loop->Stop();
                  }).ok());
  owned.reset();
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(seen, "still alive");
  EXPECT_TRUE(weak.expired()) << "removal released the callback";
}

TEST(EventLoopTest, TimersFireInDeadlineOrderAndCancel) {
  auto loop = NewLoop();
  std::vector<int> fired;
  auto start = std::chrono::steady_clock::now();
  loop->After(absl::Milliseconds(300), [&] {
    fired.push_back(300);
    loop->Stop();
  });
  loop->After(absl::Milliseconds(200), [&] { fired.push_back(200); });
  auto cancelled = loop->After(absl::Milliseconds(100), [&] { fired.push_back(100); });
  loop->After(absl::ZeroDuration(), [&] {
    fired.push_back(0);
    // A zero-delay timer added by a timer runs too (in a later round).
    loop->After(absl::ZeroDuration(), [&] { fired.push_back(1); });
  });
  loop->Cancel(cancelled);
  loop->Cancel(cancelled);  // twice: no-op
  loop->Cancel(999999);     // unknown: no-op
  Watchdog(loop.get());
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(fired, (std::vector<int>{0, 1, 200, 300}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST(EventLoopTest, TimerCanCancelAnotherDueTimer) {
  auto loop = NewLoop();
  bool second_ran = false;
  EventLoop::TimerId second = 0;
  loop->After(absl::Milliseconds(1), [&] { loop->Cancel(second); });
  second = loop->After(absl::Milliseconds(2), [&] { second_ran = true; });
  loop->After(absl::Milliseconds(30), [&] { loop->Stop(); });
  // Sleep so that both are due in the same round.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_FALSE(second_ran);
}

TEST(EventLoopTest, InfiniteDelayNeverFires) {
  auto loop = NewLoop();
  bool fired = false;
  loop->After(absl::InfiniteDuration(), [&] { fired = true; });
  loop->After(absl::Milliseconds(5), [&] { loop->Stop(); });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_FALSE(fired);
}

TEST(EventLoopTest, StopKeepsTheRestOfThePostedQueue) {
  auto loop = NewLoop();
  std::vector<int> order;
  loop->Post([&] {
    order.push_back(1);
    loop->Stop();
  });
  loop->Post([&] { order.push_back(2); });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{1}));
  loop->Post([&] {
    order.push_back(3);
    loop->Stop();
  });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, DestructionReleasesPendingWork) {
  auto owned = std::make_shared<int>(7);
  std::weak_ptr<int> weak = owned;
  {
    auto loop = NewLoop();
    EventLoop* raw = loop.get();
    loop->Post([owned] {});
    loop->After(absl::Hours(1), [owned] {});
    // A closure whose destruction posts again must not crash the destructor.
    struct PostsOnDestruction {
      EventLoop* loop;
      ~PostsOnDestruction() {
        loop->Post([] {});
      }
    };
    auto poster = std::make_shared<PostsOnDestruction>(PostsOnDestruction{raw});
    loop->Post([poster] {});
    poster.reset();
    owned.reset();
    EXPECT_FALSE(weak.expired());
  }
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace berth::sys
