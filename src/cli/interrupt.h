// SIGINT/SIGTERM for the CLI, handled on a thread rather than in a signal handler so that the
// reaction may do real work (cancel a gRPC stream).
//
// StartInterruptWatcher() blocks both signals and must be called first in main, before any
// other thread exists (gRPC starts threads), so that every thread inherits the mask. Its
// thread then waits for them: with an InterruptHook alive it runs the hook (and a command like
// `berth events` ends cleanly); with none it exits the process with 128+signal, as a shell
// reports a command killed by that signal.
// Thread-safe: the hook is swapped and run under one mutex.
#pragma once

#include <functional>

namespace berth::cli {

void StartInterruptWatcher();

// While alive, an interrupt runs `on_interrupt` (on the watcher's thread) instead of exiting.
class InterruptHook {
 public:
  explicit InterruptHook(std::function<void()> on_interrupt);
  ~InterruptHook();
  InterruptHook(const InterruptHook&) = delete;
  InterruptHook& operator=(const InterruptHook&) = delete;

  // Whether the hook ran.
  bool fired() const;
};

}  // namespace berth::cli
