// The RFC 3339 rendering of times that containerd's tools use (conversions from the protos are
// in api/time.h) (Go's time.RFC3339: "Z" for UTC, a numeric offset otherwise).
// Thread-safe: pure functions.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace berth::client {

// RFC 3339 in `tz`, like Go's Format(time.RFC3339) (whole seconds) or time.RFC3339Nano
// (`nanos`: fractional seconds with trailing zeros dropped). UTC renders as "Z".
std::string FormatRfc3339(absl::Time t, absl::TimeZone tz = absl::LocalTimeZone(),
                          bool nanos = false);

}  // namespace berth::client
