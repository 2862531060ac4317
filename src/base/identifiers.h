// Validation of containerd identifiers (namespaces, containers, leases, snapshots' keys are not
// identifiers). Same rules and messages as containerd's `identifiers.Validate`: 1..76 characters,
// alphanumerics separated by single '.', '_' or '-'.
// Thread-safe: pure functions.
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace berth {

inline constexpr size_t kMaxIdentifierLength = 76;

// OK or InvalidArgument with the reason, e.g.
//   identifier "a..b" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument
absl::Status ValidateIdentifier(absl::string_view id);

}  // namespace berth
