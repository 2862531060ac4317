#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cli/human.h"

namespace berth::cli {

namespace {

constexpr absl::Duration kRedrawInterval = absl::Milliseconds(100);
constexpr char kEraseLine[] = "\r\x1b[K";

void WriteAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;  // a progress bar is not worth an error
    s.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::string ProgressLine(std::string_view label, int64_t done, int64_t total,
                         absl::Duration elapsed, int bar_width) {
  std::string line(label);
  if (total > 0) {
    double fraction = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    int inner = std::max(bar_width - 2, 0);
    int filled = static_cast<int>(inner * fraction);
    absl::StrAppend(&line, " |", std::string(filled, '+'), std::string(inner - filled, '-'), "| ",
                    HumanBytes(done), " / ", HumanBytes(total));
  } else {
    absl::StrAppend(&line, " ", HumanBytes(done));
  }
  if (elapsed >= kRedrawInterval) {
    auto rate = static_cast<int64_t>(static_cast<double>(done) / absl::ToDoubleSeconds(elapsed));
    absl::StrAppend(&line, "  ", HumanBytes(rate), "/s");
  }
  return line;
}

ProgressBar::ProgressBar(int fd, std::string label, int64_t total)
    : fd_(fd),
      label_(std::move(label)),
      total_(total),
      enabled_(::isatty(fd) == 1),
      start_(absl::Now()) {}

void ProgressBar::Set(int64_t done) {
  done_ = done;
  if (!enabled_ || finished_) return;
  absl::Time now = absl::Now();
  if (now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  WriteAll(fd_,
           absl::StrCat(kEraseLine, ProgressLine(label_, done_, total_, absl::Now() - start_)));
  drawn_ = true;
}

void ProgressBar::Clear() {
  if (!enabled_ || !drawn_) return;
  WriteAll(fd_, kEraseLine);
  drawn_ = false;
  last_draw_ = absl::InfinitePast();
}

void ProgressBar::Finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_ || done_ == 0) return;
  Draw();
  WriteAll(fd_, "\n");
}

}  // namespace berth::cli
