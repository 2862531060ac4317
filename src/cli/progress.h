// A one-line progress bar on a terminal, for long transfers (berth images import):
//
//   importing |++++++++++++------------------|  12.0 MiB / 40.0 MiB  3.2 MiB/s
//
// ProgressLine renders one state (pure, tested); ProgressBar redraws it in place ("\r" and an
// erase-to-end-of-line) at most every 100 ms, and only when its descriptor is a terminal, so
// redirected output never gets control characters.
// Thread-safety: ProgressLine is pure; a ProgressBar is used from one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace berth::cli {

// `label`, a bar of `bar_width` characters when `total` > 0 (done/total, clamped to full), the
// amounts in human units and the mean rate since the start (omitted before 100 ms have passed).
std::string ProgressLine(std::string_view label, int64_t done, int64_t total,
                         absl::Duration elapsed, int bar_width = 30);

class ProgressBar {
 public:
  // Draws on `fd` if isatty(fd); `total` 0 = unknown.
  ProgressBar(int fd, std::string label, int64_t total);
  ~ProgressBar() { Finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool enabled() const { return enabled_; }
  void Add(int64_t bytes) { Set(done_ + bytes); }
  void Set(int64_t done);
  // Draws the final state and ends the line (once).
  void Finish();
  // Erases the bar's line, so that other output can start at the beginning of the line; the
  // next Add draws it again.
  void Clear();

 private:
  void Draw();

  int fd_;
  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  bool drawn_ = false;
  absl::Time start_;
  absl::Time last_draw_ = absl::InfinitePast();
};

}  // namespace berth::cli
