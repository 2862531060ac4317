// Durations written as Go writes them, which containerd's config and ctr's flags use.
//
// Thread-safety: plain functions.
#pragma once

#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace berth {

// Go's time.ParseDuration: "0", or signed decimal numbers with units ns, us (or µs), ms, s, m,
// h ("1.5s", "1m30s", "-2h"). nullopt for anything else, including "inf", which
// absl::ParseDuration would take and Go does not.
std::optional<absl::Duration> ParseGoDuration(absl::string_view text);

}  // namespace berth
