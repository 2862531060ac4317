#include "cli/args.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/duration.h"

namespace berth::cli {

absl::StatusOr<client::Labels> ParseLabelArgs(const std::vector<std::string>& args) {
  client::Labels labels;
  for (const auto& arg : args) {
    size_t eq = arg.find('=');
    std::string key = arg.substr(0, eq);
    if (key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid label \"", arg, "\": want key=value: invalid argument"));
    }
    labels[key] = eq == std::string::npos ? "true" : arg.substr(eq + 1);
  }
  return labels;
}

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  const std::string str(text);
  std::optional<absl::Duration> d = ParseGoDuration(str);
  if (!d || *d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid duration \"", str, "\" (want e.g. 10s, 1m30s, 24h): invalid argument"));
  }
  return *d;
}

std::string FormatLabels(const client::Labels& labels, std::string_view empty) {
  if (labels.empty()) return std::string(empty);
  return absl::StrJoin(labels, ",", absl::PairFormatter("="));
}

}  // namespace berth::cli
