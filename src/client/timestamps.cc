#include "client/timestamps.h"

#include "absl/strings/match.h"

namespace berth::client {

std::string FormatRfc3339(absl::Time t, absl::TimeZone tz, bool nanos) {
  std::string out = absl::FormatTime(nanos ? absl::RFC3339_full : absl::RFC3339_sec, t, tz);
  // absl renders a zero offset as "+00:00"; Go (and so ctr) writes "Z".
  if (absl::EndsWith(out, "+00:00")) out.replace(out.size() - 6, 6, "Z");
  return out;
}

}  // namespace berth::client
