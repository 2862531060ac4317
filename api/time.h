// google.protobuf.Timestamp <-> absl::Time, with the one rule every side of the API needs:
// containerd's Go clients send an unset time as Go's zero time.Time (seconds=-62135596800), so
// that, like an all-zero Timestamp, means "no time". Hand-written, part of the API library.
// Thread-safe: pure functions.
#pragma once

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace berth::api {

// 0001-01-01T00:00:00Z in unix seconds: Go's zero time.Time.
inline constexpr int64_t kGoZeroTimeSeconds = -62135596800;

// True when `ts` carries no time: all zero, or Go's zero time.
bool IsZeroTimestamp(const google::protobuf::Timestamp& ts);
// absl::InfinitePast() for a zero timestamp (see IsZeroTimestamp).
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToTimestamp(absl::Time t);

}  // namespace berth::api
