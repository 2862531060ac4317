// Rendering of `berth events` lines. Thread-safe: pure functions.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "client/events.h"

namespace berth::cli {

// "<time RFC 3339 with fraction> <namespace> <topic> <event>" where <event> is the decoded
// event as compact JSON when this binary knows its type, else its type URL. No newline.
std::string FormatEventLine(const client::Envelope& envelope,
                            absl::TimeZone tz = absl::LocalTimeZone());

}  // namespace berth::cli
