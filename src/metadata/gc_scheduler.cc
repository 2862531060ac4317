#include "metadata/gc_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"
#include "base/log.h"

namespace berth::metadata {

namespace {

GcSchedulerConfig Clamped(GcSchedulerConfig c) {
  c.pause_threshold = std::clamp(c.pause_threshold, 0.0, 0.5);
  c.deletion_threshold = std::max(c.deletion_threshold, 0);
  c.mutation_threshold = std::max(c.mutation_threshold, 0);
  c.schedule_delay = std::max(c.schedule_delay, absl::ZeroDuration());
  c.startup_delay = std::max(c.startup_delay, absl::ZeroDuration());
  return c;
}

}  // namespace

// --- GcPolicy ---

GcPolicy::GcPolicy(const GcSchedulerConfig& config, absl::Time start) : config_(Clamped(config)) {
  // The first collection cleans up after a crash and measures the pause for the interval.
  if (config_.startup_delay > absl::ZeroDuration()) next_ = start + config_.startup_delay;
}

void GcPolicy::OnMutation(bool deletion, absl::Time now) {
  if (deletion) ++deletions_;
  ++mutations_;
  MaybeSchedule(now);
}

void GcPolicy::OnTrigger(absl::Time now) {
  triggered_ = true;
  MaybeSchedule(now);
}

// containerd's rule: a trigger, or reaching the deletion threshold, schedules a collection
// after schedule_delay (sooner than one already scheduled); with nothing scheduled, so does any
// deletion (no deletion threshold) or reaching the mutation threshold. Otherwise the changes
// wait for the collection already scheduled.
void GcPolicy::MaybeSchedule(absl::Time now) {
  const bool deletions_due =
      config_.deletion_threshold > 0 ? deletions_ >= config_.deletion_threshold : false;
  const bool idle_due =
      !next_ && (deletions_ > 0 ||
                 (config_.mutation_threshold > 0 && mutations_ >= config_.mutation_threshold));
  if (!triggered_ && !deletions_due && !idle_due) return;
  absl::Time at = now + config_.schedule_delay;
  if (!next_ || *next_ > at) next_ = at;
}

bool GcPolicy::Due(absl::Time now) {
  if (!next_ || now < *next_) return false;
  const bool needed = !collected_ || triggered_ || retry_ || deletions_ > 0 ||
                      (config_.mutation_threshold > 0 && mutations_ >= config_.mutation_threshold);
  if (!needed) {
    next_.reset();  // idle until something happens
    return false;
  }
  return true;
}

void GcPolicy::OnStarted() {
  next_.reset();
  triggered_ = false;
  retry_ = false;
  deletions_ = 0;
  mutations_ = 0;
}

void GcPolicy::OnFinished(absl::Duration pause, absl::Time now) {
  collected_ = true;
  ++collections_;
  pause_total_ += pause;
  if (config_.pause_threshold > 0) {
    // The average pause over the whole run, spread so that it is pause_threshold of the time.
    absl::Duration avg = pause_total_ / collections_;
    interval_ = avg / config_.pause_threshold - avg;
  }
  next_ = now + interval_;
  // What arrived during the collection: a trigger or the deletion threshold moves next_ sooner.
  MaybeSchedule(now);
}

void GcPolicy::OnFailed(absl::Time now) {
  collected_ = true;
  retry_ = true;
  next_ = now + interval_ + absl::Seconds(1);
}

// --- GcScheduler ---

GcScheduler::GcScheduler(CollectFn collect, GcSchedulerConfig config)
    : collect_(std::move(collect)),
      config_(Clamped(config)),
      policy_(config_, absl::Now()),
      thread_([this] { Run(); }) {}

GcScheduler::~GcScheduler() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  const absl::Status stopped = absl::UnavailableError("garbage collection scheduler stopped");
  std::vector<DoneFn> callbacks;
  {
    absl::MutexLock lock(&mu_);
    for (Waiter* w : waiters_) {
      w->result = stopped;
      w->done = true;
    }
    waiters_.clear();
    callbacks.swap(callbacks_);
  }
  for (const DoneFn& done : callbacks) done(stopped);
}

void GcScheduler::MarkDirty() {
  absl::MutexLock lock(&mu_);
  policy_.OnMutation(/*deletion=*/true, absl::Now());
  changed_ = true;
}

void GcScheduler::MarkMutation() {
  absl::MutexLock lock(&mu_);
  policy_.OnMutation(/*deletion=*/false, absl::Now());
  changed_ = true;
}

absl::StatusOr<GcStats> GcScheduler::RunNow() {
  Waiter w;
  absl::MutexLock lock(&mu_);
  if (stopping_) return absl::UnavailableError("garbage collection scheduler stopped");
  waiters_.push_back(&w);
  policy_.OnTrigger(absl::Now());
  changed_ = true;
  mu_.Await(absl::Condition(&w.done));
  return std::move(w.result);
}

void GcScheduler::RunNowAsync(DoneFn done) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      callbacks_.push_back(std::move(done));
      policy_.OnTrigger(absl::Now());
      changed_ = true;
      return;
    }
  }
  done(absl::UnavailableError("garbage collection scheduler stopped"));
}

int64_t GcScheduler::collections() {
  absl::MutexLock lock(&mu_);
  return collections_;
}

void GcScheduler::Run() {
  mu_.Lock();
  for (;;) {
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_ || changed_; };
    std::optional<absl::Time> next = policy_.next();
    if (next) {
      mu_.AwaitWithDeadline(absl::Condition(&woken), *next);
    } else {
      mu_.Await(absl::Condition(&woken));
    }
    if (stopping_) break;
    changed_ = false;
    if (!policy_.Due(absl::Now())) continue;

    // Waiters registered from here on wait for the next collection: this one may have begun
    // marking before their deletes.
    std::vector<Waiter*> round = std::move(waiters_);
    waiters_.clear();
    std::vector<DoneFn> round_callbacks = std::move(callbacks_);
    callbacks_.clear();
    policy_.OnStarted();
    mu_.Unlock();
    absl::StatusOr<GcStats> result = collect_();
    mu_.Lock();

    absl::Time now = absl::Now();
    ++collections_;
    if (result.ok()) {
      policy_.OnFinished(result->Pause(), now);
      log::Debug("garbage collected", {{"mark", absl::FormatDuration(result->mark)},
                                       {"sweep", absl::FormatDuration(result->sweep)},
                                       {"content", absl::FormatDuration(result->content)},
                                       {"snapshotters", absl::FormatDuration(result->snapshotters)},
                                       {"blobs", result->blobs},
                                       {"bytes", result->bytes},
                                       {"ingests", result->ingests},
                                       {"snapshots", result->snapshots},
                                       {"leases", result->leases},
                                       {"next_in", absl::FormatDuration(*policy_.next() - now)}});
    } else {
      policy_.OnFailed(now);
      log::Error("garbage collection failed", {{"error", result.status().ToString()}});
    }
    for (Waiter* w : round) {
      w->result = result;
      w->done = true;
    }
    if (!round_callbacks.empty()) {
      mu_.Unlock();
      for (const DoneFn& done : round_callbacks) done(result);
      mu_.Lock();
    }
  }
  mu_.Unlock();
}

}  // namespace berth::metadata
