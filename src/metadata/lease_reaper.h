// LeaseReaper: the background job that deletes leases once their `containerd.io/gc.expire` time
// has passed. It sleeps until the earliest expiry (or until poked by Poke() after a lease with an
// expiry is created) and deletes what is due.
// Thread-safety: one thread, owned by this object, started in the constructor and joined in the
// destructor; Poke() may be called from any thread.
#pragma once

#include <functional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "metadata/leases.h"

namespace berth::metadata {

class LeaseReaper {
 public:
  explicit LeaseReaper(LeaseStore* leases);
  ~LeaseReaper();
  LeaseReaper(const LeaseReaper&) = delete;
  LeaseReaper& operator=(const LeaseReaper&) = delete;

  // Re-reads the earliest expiry (call after creating a lease that has one).
  void Poke();
  // Called (from the reaper's thread) after expired leases were deleted, e.g. to schedule a
  // garbage collection. Replaces any previous callback.
  void SetOnExpired(std::function<void()> fn);

 private:
  void Run();

  LeaseStore* leases_;
  absl::Mutex mu_;
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_expired_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace berth::metadata
