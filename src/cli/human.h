// Human-friendly renderings shared by the berth commands, the same as ctr's so that the two read
// alike: sizes in binary units with one decimal ("2.1 MiB", "512.0 B"; containerd's
// progress.Bytes) and ages ("About a minute", "3 hours"; docker's units.HumanDuration).
// Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "absl/time/time.h"

namespace berth::cli {

// `bytes` in B, KiB, MiB, ... with one decimal: "0.0 B", "1.0 KiB", "2.1 MiB". Negative sizes
// (unknown) print as "-".
std::string HumanBytes(int64_t bytes);

// A duration as docker and ctr print ages: "Less than a second", "1 second", "12 seconds",
// "About a minute", "5 minutes", "About an hour", "3 hours", "4 days", "2 weeks", "3 months",
// "2 years". Negative durations (clock skew) count as zero.
std::string HumanDuration(absl::Duration d);

}  // namespace berth::cli
