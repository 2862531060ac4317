#include "metadata/gc_scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace berth::metadata {
namespace {

// --- GcPolicy, on a fake clock ---

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);
absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

// A policy past its startup collection, which paused 2ms: interval = 2ms / 0.02 - 2ms = 98ms.
GcPolicy AfterFirstCollection(GcSchedulerConfig config = {}) {
  GcPolicy p(config, kStart);
  EXPECT_TRUE(p.Due(At(100)));
  p.OnStarted();
  p.OnFinished(absl::Milliseconds(2), At(100));
  return p;
}

TEST(GcPolicyTest, FirstCollectionAfterStartupDelay) {
  GcPolicy p({}, kStart);
  ASSERT_TRUE(p.next().has_value());
  EXPECT_EQ(*p.next(), At(100));
  EXPECT_FALSE(p.Due(At(99)));
  EXPECT_TRUE(p.Due(At(100)));  // even with nothing marked: it cleans up after a crash
}

TEST(GcPolicyTest, NoStartupCollectionWithZeroDelay) {
  GcPolicy p({.startup_delay = absl::ZeroDuration()}, kStart);
  EXPECT_FALSE(p.next().has_value());
  p.OnMutation(/*deletion=*/true, At(5));
  ASSERT_TRUE(p.next().has_value());
  EXPECT_EQ(*p.next(), At(5));
}

TEST(GcPolicyTest, IntervalFollowsPauseThreshold) {
  GcPolicy p = AfterFirstCollection();
  EXPECT_EQ(p.interval(), absl::Milliseconds(98));
  ASSERT_TRUE(p.next().has_value());
  EXPECT_EQ(*p.next(), At(198));
  // The average pause: (2 + 6) / 2 = 4ms -> 196ms.
  p.OnMutation(true, At(150));
  ASSERT_TRUE(p.Due(At(198)));
  p.OnStarted();
  p.OnFinished(absl::Milliseconds(6), At(200));
  EXPECT_EQ(p.interval(), absl::Milliseconds(196));
  EXPECT_EQ(*p.next(), At(396));
}

TEST(GcPolicyTest, NoPauseThresholdKeepsOneSecond) {
  GcPolicy p = AfterFirstCollection({.pause_threshold = 0});
  EXPECT_EQ(p.interval(), absl::Seconds(1));
}

// With a deletion threshold, a deletion below it is still collected: containerd's timer would
// collect it at its next tick; an idle scheduler schedules it after schedule_delay.
TEST(GcPolicyTest, DeletionBelowTheThresholdIsCollectedWhenIdle) {
  GcPolicy p({.deletion_threshold = 3, .startup_delay = absl::ZeroDuration()}, kStart);
  EXPECT_FALSE(p.next().has_value());
  p.OnMutation(/*deletion=*/true, At(5));
  ASSERT_TRUE(p.next().has_value());
  EXPECT_EQ(*p.next(), At(5));
  EXPECT_TRUE(p.Due(At(5)));
}

TEST(GcPolicyTest, DeletionWaitsForTheScheduledCollection) {
  GcPolicy p = AfterFirstCollection();
  p.OnMutation(true, At(120));
  EXPECT_EQ(*p.next(), At(198));  // not sooner: the interval bounds the pause time
  EXPECT_FALSE(p.Due(At(150)));
  EXPECT_TRUE(p.Due(At(198)));
}

TEST(GcPolicyTest, IdleAfterANeedlessWakeupThenDeletionCollectsAtOnce) {
  GcPolicy p = AfterFirstCollection();
  EXPECT_FALSE(p.Due(At(198)));  // nothing happened since the last collection
  EXPECT_FALSE(p.next().has_value());
  p.OnMutation(true, At(5000));
  EXPECT_EQ(*p.next(), At(5000));
  EXPECT_TRUE(p.Due(At(5000)));
}

TEST(GcPolicyTest, ScheduleDelayAppliesToTriggers) {
  GcPolicy p = AfterFirstCollection({.schedule_delay = absl::Milliseconds(50)});
  EXPECT_FALSE(p.Due(At(198)));
  p.OnTrigger(At(1000));
  EXPECT_EQ(*p.next(), At(1050));
  EXPECT_FALSE(p.Due(At(1049)));
  EXPECT_TRUE(p.Due(At(1050)));
}

TEST(GcPolicyTest, TriggerMovesAScheduledCollectionSooner) {
  GcPolicy p = AfterFirstCollection();
  p.OnTrigger(At(110));
  EXPECT_EQ(*p.next(), At(110));
}

TEST(GcPolicyTest, DeletionThresholdCollectsSooner) {
  GcPolicy p = AfterFirstCollection({.deletion_threshold = 3});
  p.OnMutation(true, At(101));
  p.OnMutation(true, At(102));
  EXPECT_EQ(*p.next(), At(198));
  p.OnMutation(true, At(103));
  EXPECT_EQ(*p.next(), At(103));
}

TEST(GcPolicyTest, MutationThreshold) {
  GcPolicy p = AfterFirstCollection();
  EXPECT_FALSE(p.Due(At(198)));  // idle
  for (int i = 0; i < 99; ++i) p.OnMutation(false, At(300));
  EXPECT_FALSE(p.next().has_value());
  p.OnMutation(false, At(301));
  EXPECT_EQ(*p.next(), At(301));

  // Below the threshold, mutations alone do not make a scheduled wakeup collect.
  GcPolicy q = AfterFirstCollection();
  q.OnMutation(false, At(150));
  EXPECT_FALSE(q.Due(At(198)));
}

TEST(GcPolicyTest, ChangesDuringACollectionAreNotLost) {
  GcPolicy p = AfterFirstCollection();
  p.OnMutation(true, At(150));
  ASSERT_TRUE(p.Due(At(198)));
  p.OnStarted();
  p.OnTrigger(At(199));  // RunNow while collecting
  p.OnFinished(absl::Milliseconds(2), At(200));
  EXPECT_EQ(*p.next(), At(200));
  EXPECT_TRUE(p.Due(At(200)));
}

TEST(GcPolicyTest, FailureRetriesAfterIntervalPlusOneSecond) {
  GcPolicy p(GcSchedulerConfig{}, kStart);
  ASSERT_TRUE(p.Due(At(100)));
  p.OnStarted();
  p.OnFailed(At(100));
  EXPECT_EQ(*p.next(), At(2100));
  EXPECT_TRUE(p.Due(At(2100)));
}

// --- GcScheduler, on the real clock with short delays ---

TEST(GcSchedulerTest, RunNowWaitsForACollection) {
  std::atomic<int> calls = 0;
  GcScheduler gc(
      [&]() -> absl::StatusOr<GcStats> {
        GcStats s;
        s.blobs = ++calls;
        return s;
      },
      {.startup_delay = absl::ZeroDuration()});
  auto stats = gc.RunNow();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->blobs, 1);
  stats = gc.RunNow();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->blobs, 2);
  EXPECT_EQ(gc.collections(), 2);
}

TEST(GcSchedulerTest, RunNowDuringACollectionWaitsForTheNextOne) {
  absl::Notification first_started, release_first;
  std::atomic<int> calls = 0;
  GcScheduler gc(
      [&]() -> absl::StatusOr<GcStats> {
        GcStats s;
        s.blobs = ++calls;
        if (s.blobs == 1) {
          first_started.Notify();
          release_first.WaitForNotification();
        }
        return s;
      },
      {.startup_delay = absl::Milliseconds(1)});
  first_started.WaitForNotification();
  absl::StatusOr<GcStats> waited;
  std::thread waiter([&] { waited = gc.RunNow(); });
  absl::SleepFor(absl::Milliseconds(50));  // the waiter is registered by now
  release_first.Notify();
  waiter.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->blobs, 2);  // not the collection that was running when it asked
}

TEST(GcSchedulerTest, MarkDirtyLeadsToACollection) {
  absl::Notification collected;
  GcScheduler gc(
      [&]() -> absl::StatusOr<GcStats> {
        if (!collected.HasBeenNotified()) collected.Notify();
        return GcStats{};
      },
      {.startup_delay = absl::ZeroDuration()});
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(gc.collections(), 0);  // nothing asked for one
  gc.MarkDirty();
  EXPECT_TRUE(collected.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(GcSchedulerTest, StartupCollection) {
  absl::Notification collected;
  GcScheduler gc([&]() -> absl::StatusOr<GcStats> {
    if (!collected.HasBeenNotified()) collected.Notify();
    return GcStats{};
  });
  EXPECT_TRUE(collected.WaitForNotificationWithTimeout(absl::Seconds(10)));
}

TEST(GcSchedulerTest, RunNowAsyncAndErrors) {
  GcScheduler gc([]() -> absl::StatusOr<GcStats> { return absl::InternalError("disk on fire"); },
                 {.startup_delay = absl::ZeroDuration()});
  absl::Notification done;
  absl::Status got;
  gc.RunNowAsync([&](const absl::StatusOr<GcStats>& r) {
    got = r.status();
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(got.code(), absl::StatusCode::kInternal);
  // A trigger is not held back by the retry delay of the failure.
  EXPECT_EQ(gc.RunNow().status().code(), absl::StatusCode::kInternal);
}

TEST(GcSchedulerTest, DestructionAnswersPendingAsyncCallers) {
  absl::Notification started, release;
  bool called = false;
  absl::Status got;
  {
    GcScheduler gc(
        [&]() -> absl::StatusOr<GcStats> {
          if (!started.HasBeenNotified()) started.Notify();
          release.WaitForNotification();
          return GcStats{};
        },
        {.startup_delay = absl::Milliseconds(1)});
    started.WaitForNotification();
    gc.RunNowAsync([&](const absl::StatusOr<GcStats>& r) {
      called = true;
      got = r.status();
    });
    release.Notify();
  }
  // Either the next collection ran before the destructor stopped the thread, or it answered
  // Unavailable: never silence.
  EXPECT_TRUE(called);
  EXPECT_TRUE(got.ok() || absl::IsUnavailable(got)) << got;
}

}  // namespace
}  // namespace berth::metadata
