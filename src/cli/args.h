// Parsing of command-line values shared by the berth commands: `key=value` labels and Go-style
// durations ("10s", "1h30m", "500ms"), and the one-line rendering of a label map.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/labels.h"

namespace berth::cli {

// Parses `key=value` arguments as ctr does: "k=v" sets k to v (the value may contain '='),
// "k=" gives k the empty value (which removes the label in an update), a bare "k" means
// "k=true". InvalidArgument for an empty key. A later argument overrides an earlier one.
absl::StatusOr<client::Labels> ParseLabelArgs(const std::vector<std::string>& args);

// Parses a Go duration: a sequence of decimal numbers with optional fraction and a unit
// (ns, us, ms, s, m, h), e.g. "10s", "1.5h", "2h45m"; "0" alone is zero. InvalidArgument for
// anything else, including negative and infinite durations.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);

// "a=1,b=2" in key order, or `empty` when there are no labels.
std::string FormatLabels(const client::Labels& labels, std::string_view empty = "");

}  // namespace berth::cli
