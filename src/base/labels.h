// Labels: string maps on namespaces, containers, leases, images, content and snapshots.
// Validation follows containerd's `labels.Validate`: key and value together at most 4096 bytes.
// Thread-safe: pure functions.
#pragma once

#include <map>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth {

using Labels = std::map<std::string, std::string>;

inline constexpr size_t kMaxLabelSize = 4096;

// Label that marks a lease's expiry time (RFC 3339), honoured by the daemon.
inline constexpr char kLabelGcExpire[] = "containerd.io/gc.expire";

// InvalidArgument "label key and value greater than maximum size (4096 bytes), key: <10 chars>".
absl::Status ValidateLabel(absl::string_view key, absl::string_view value);
absl::Status ValidateLabels(const Labels& labels);

// `labels` without empty values: containerd never stores those for containers and leases, and
// an update that sets a label to "" removes it.
Labels WithoutEmptyValues(const Labels& labels);

// Applies the field-mask path "labels.<key>": copies `key` from `from`, or removes it from
// `labels` when `from` lacks it or holds "".
void ApplyLabelPath(Labels& labels, const std::string& key, const Labels& from);

// JSON object of strings, as stored in the metadata database.
std::string LabelsToJson(const Labels& labels);
absl::StatusOr<Labels> LabelsFromJson(absl::string_view json);

}  // namespace berth
