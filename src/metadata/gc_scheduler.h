// GcScheduler: decides when garbage collection runs (containerd's gc/scheduler, the
// `io.containerd.gc.v1 scheduler` plugin) and runs it on its own thread, so that no API call
// waits for a collection unless it asked to (Delete with `sync`, through RunNow).
//
// Inputs: MarkDirty() after something was deleted (an image, a blob, a lease, a container, a
// snapshot), MarkMutation() after any other change, RunNow() to ask for a collection and wait for
// it. The rules are containerd's (GcPolicy below), with its defaults; berthd reads them from
// its config's [plugins."io.containerd.gc.v1.scheduler"] table (daemon/config.h):
//   startup_delay 100ms      a first collection that long after start (0: none). berthd differs
//                            unless its config sets startup_delay: it passes 0 and runs the
//                            first collection itself, synchronously, before serving (a timed one
//                            would race clients' first writes); set, containerd's timed first
//                            collection is used and nothing runs before serving.
//   schedule_delay 0         how long after a trigger a collection is scheduled (RunNow too:
//                            as with containerd, a `sync` delete waits it out)
//   deletion_threshold 0     collect as soon as this many deletions happened (0: no count; any
//                            deletion is collected at the next scheduled time)
//   mutation_threshold 100   collect at the next scheduled time once this many changes happened
//   pause_threshold 0.02     after each collection, the next is no sooner than the average pause
//                            (mark + sweep, the time the metadata was held) / threshold - pause:
//                            collections hold the metadata at most ~2% of the time.
// One deliberate difference: containerd's timer wakes up every interval forever, re-arming when
// there is nothing to do; here an idle scheduler sleeps until the next mark or trigger, and
// a deletion arriving while idle is then collected after schedule_delay.
//
// Thread-safety: one thread, owned by the object, started by the constructor and joined by the
// destructor; every method may be called from any other thread. Callers of RunNow must have
// returned before the scheduler is destroyed (the daemon stops serving first).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metadata/gc.h"

namespace berth::metadata {

struct GcSchedulerConfig {
  double pause_threshold = 0.02;  // clamped to [0, 0.5]
  int deletion_threshold = 0;
  int mutation_threshold = 100;
  absl::Duration schedule_delay = absl::ZeroDuration();
  absl::Duration startup_delay = absl::Milliseconds(100);
};

// The scheduling rules alone, over times passed in (tests drive it with a fake clock). Not
// thread-safe: GcScheduler guards it.
class GcPolicy {
 public:
  GcPolicy(const GcSchedulerConfig& config, absl::Time start);

  // A change at `now`: a deletion (dirty) or another mutation.
  void OnMutation(bool deletion, absl::Time now);
  // A collection asked for at `now` (RunNow).
  void OnTrigger(absl::Time now);
  // When the next collection is due, if one is scheduled.
  std::optional<absl::Time> next() const { return next_; }
  // Called at or after next(): whether to collect now. If not (nothing happened since the last
  // collection), the scheduler goes idle: next() is unset until a change or trigger.
  bool Due(absl::Time now);
  // A collection is starting: what happened so far is covered by it.
  void OnStarted();
  // The collection finished at `now`, holding the metadata for `pause`; schedules the next.
  void OnFinished(absl::Duration pause, absl::Time now);
  // The collection failed at `now`: retried one interval + 1s later.
  void OnFailed(absl::Time now);
  // The minimum time between collections, from the pause threshold (1s until the first).
  absl::Duration interval() const { return interval_; }

 private:
  void MaybeSchedule(absl::Time now);

  const GcSchedulerConfig config_;
  std::optional<absl::Time> next_;
  bool collected_ = false;  // at least one collection finished
  bool triggered_ = false;
  bool retry_ = false;
  int deletions_ = 0;
  int mutations_ = 0;
  absl::Duration interval_ = absl::Seconds(1);
  absl::Duration pause_total_;
  int64_t collections_ = 0;
};

class GcScheduler {
 public:
  // Runs one collection (GarbageCollect over the daemon's metadata and backends).
  using CollectFn = std::function<absl::StatusOr<GcStats>()>;

  explicit GcScheduler(CollectFn collect, GcSchedulerConfig config = {});
  ~GcScheduler();
  GcScheduler(const GcScheduler&) = delete;
  GcScheduler& operator=(const GcScheduler&) = delete;

  // Something was deleted: a collection will follow (see the rules above).
  void MarkDirty();
  // Something else changed (counts towards mutation_threshold).
  void MarkMutation();
  // Schedules a collection (after schedule_delay) and waits until one that started after this
  // call has finished: what was deleted before the call is collected on return. Returns that
  // collection's stats or error; Unavailable if the scheduler is destroyed first.
  absl::StatusOr<GcStats> RunNow();
  // RunNow without waiting: `done` is called with the result from the scheduler's thread (or
  // with Unavailable from the destructor); it must not call back into the scheduler.
  using DoneFn = std::function<void(const absl::StatusOr<GcStats>&)>;
  void RunNowAsync(DoneFn done);

  const GcSchedulerConfig& config() const { return config_; }
  // Collections finished so far (successful or not).
  int64_t collections();

 private:
  struct Waiter {
    bool done = false;
    absl::StatusOr<GcStats> result;
  };

  void Run();

  const CollectFn collect_;
  const GcSchedulerConfig config_;
  absl::Mutex mu_;
  GcPolicy policy_ ABSL_GUARDED_BY(mu_);
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // the policy changed: the thread re-reads next()
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // For the next collection to start.
  std::vector<Waiter*> waiters_ ABSL_GUARDED_BY(mu_);
  std::vector<DoneFn> callbacks_ ABSL_GUARDED_BY(mu_);
  int64_t collections_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace berth::metadata
