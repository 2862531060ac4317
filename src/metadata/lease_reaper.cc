#include "metadata/lease_reaper.h"

#include "absl/time/clock.h"
#include "base/log.h"

namespace berth::metadata {

namespace {
// Upper bound on a sleep, so that a clock jump or a lease written by an older daemon is noticed.
constexpr absl::Duration kMaxSleep = absl::Minutes(1);
}  // namespace

LeaseReaper::LeaseReaper(LeaseStore* leases) : leases_(leases), thread_([this] { Run(); }) {}

LeaseReaper::~LeaseReaper() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void LeaseReaper::Poke() {
  absl::MutexLock lock(&mu_);
  poked_ = true;
}

void LeaseReaper::SetOnExpired(std::function<void()> fn) {
  absl::MutexLock lock(&mu_);
  on_expired_ = std::move(fn);
}

void LeaseReaper::Run() {
  for (;;) {
    absl::Time now = absl::Now();
    auto expired = leases_->DeleteExpired(now);
    if (!expired.ok()) {
      log::Warn("deleting expired leases failed", {{"error", expired.status().ToString()}});
    } else {
      for (const auto& [ns, id] : *expired) {
        log::Info("lease expired", {{"namespace", ns}, {"lease", id}});
      }
      if (!expired->empty()) {
        std::function<void()> on_expired;
        {
          absl::MutexLock lock(&mu_);
          on_expired = on_expired_;
        }
        if (on_expired) on_expired();
      }
    }
    absl::Time wake = now + kMaxSleep;
    auto next = leases_->NextExpiry();
    if (next.ok() && next->has_value()) wake = std::min(wake, **next);

    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return poked_ || stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&woken), wake);
    if (stopping_) return;
    poked_ = false;
  }
}

}  // namespace berth::metadata
