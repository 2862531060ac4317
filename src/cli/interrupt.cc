#include "cli/interrupt.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <thread>

#include "absl/synchronization/mutex.h"

namespace berth::cli {

namespace {

struct HookState {
  absl::Mutex mu;
  std::function<void()> hook ABSL_GUARDED_BY(mu);
  bool fired ABSL_GUARDED_BY(mu) = false;
};

HookState& State() {
  static auto* state = new HookState();  // never destroyed: the watcher outlives main
  return *state;
}

sigset_t InterruptSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

void StartInterruptWatcher() {
  sigset_t set = InterruptSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      HookState& state = State();
      absl::MutexLock lock(&state.mu);
      if (state.hook) {
        state.fired = true;
        state.hook();
        continue;
      }
      std::fflush(stdout);
      _exit(128 + sig);
    }
  }).detach();
}

InterruptHook::InterruptHook(std::function<void()> on_interrupt) {
  HookState& state = State();
  absl::MutexLock lock(&state.mu);
  state.hook = std::move(on_interrupt);
  state.fired = false;
}

InterruptHook::~InterruptHook() {
  HookState& state = State();
  absl::MutexLock lock(&state.mu);
  state.hook = nullptr;
}

bool InterruptHook::fired() const {
  HookState& state = State();
  absl::MutexLock lock(&state.mu);
  return state.fired;
}

}  // namespace berth::cli
