#include "client/timestamps.h"

#include "absl/strings/match.h"

namespace berth::client {

bool IsZeroTimestamp(const google::protobuf::Timestamp& ts) {
  return (ts.seconds() == 0 && ts.nanos() == 0) ||
         (ts.seconds() == kGoZeroTimeSeconds && ts.nanos() == 0);
}

absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  if (IsZeroTimestamp(ts)) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

std::string FormatRfc3339(absl::Time t, absl::TimeZone tz, bool nanos) {
  std::string out = absl::FormatTime(nanos ? absl::RFC3339_full : absl::RFC3339_sec, t, tz);
  // absl renders a zero offset as "+00:00"; Go (and so ctr) writes "Z".
  if (absl::EndsWith(out, "+00:00")) out.replace(out.size() - 6, 6, "Z");
  return out;
}

}  // namespace berth::client
