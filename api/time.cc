#include "time.h"

namespace berth::api {

bool IsZeroTimestamp(const google::protobuf::Timestamp& ts) {
  return ts.nanos() == 0 && (ts.seconds() == 0 || ts.seconds() == kGoZeroTimeSeconds);
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  if (IsZeroTimestamp(ts)) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  // ToUnixSeconds rounds toward the infinite past, so the remainder is never negative.
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

}  // namespace berth::api
