// Conversions between google.protobuf.Timestamp and absl::Time, and the RFC 3339 rendering that
// containerd's tools use (Go's time.RFC3339: "Z" for UTC, a numeric offset otherwise).
// Thread-safe: pure functions.
#pragma once

#include <google/protobuf/timestamp.pb.h>

#include <string>

#include "absl/time/time.h"

namespace berth::client {

// Go clients send the zero time.Time as seconds=-62135596800 (0001-01-01T00:00:00Z).
inline constexpr int64_t kGoZeroTimeSeconds = -62135596800;

// True when `ts` is unset: all zero, or Go's zero time.
bool IsZeroTimestamp(const google::protobuf::Timestamp& ts);

// absl::InfinitePast() for a zero timestamp (see IsZeroTimestamp).
absl::Time FromProtoTime(const google::protobuf::Timestamp& ts);
google::protobuf::Timestamp ToProtoTime(absl::Time t);

// RFC 3339 in `tz`, like Go's Format(time.RFC3339) (whole seconds) or time.RFC3339Nano
// (`nanos`: fractional seconds with trailing zeros dropped). UTC renders as "Z".
std::string FormatRfc3339(absl::Time t, absl::TimeZone tz = absl::LocalTimeZone(),
                          bool nanos = false);

}  // namespace berth::client
