#include "snapshots/snapshotter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace berth::snapshots {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "View";
    case Kind::kActive:
      return "Active";
    case Kind::kCommitted:
      return "Committed";
    default:
      return "Unknown";
  }
}

Kind ParseKind(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "view") return Kind::kView;
  if (lower == "active") return Kind::kActive;
  if (lower == "committed") return Kind::kCommitted;
  return Kind::kUnknown;
}

bool MatchInfo(const filters::Filter& filter, const Info& info) {
  if (filter.MatchesAll()) return true;
  return filter.Match(filters::LabelsAdaptor(
      [&info](absl::string_view field) -> std::optional<std::string> {
        if (field == "kind") {
          if (info.kind == Kind::kUnknown) return std::nullopt;
          return absl::AsciiStrToLower(KindName(info.kind));
        }
        if (field == "name") return info.name;
        if (field == "parent") return info.parent;
        return std::nullopt;
      },
      &info.labels));
}

Labels FilterInheritedLabels(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels) {
    if (k == kLabelSnapshotRef || absl::StartsWith(k, kInheritedLabelsPrefix)) out.emplace(k, v);
  }
  return out;
}

}  // namespace berth::snapshots
