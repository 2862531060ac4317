#include "content/store.h"

#include "base/status.h"

namespace berth::content {

bool MatchInfo(const filters::Filter& filter, const Info& info) {
  if (filter.MatchesAll()) return true;
  auto adaptor = [&info](std::span<const std::string> path) -> std::optional<std::string> {
    if (path[0] == "digest") return info.digest.str();
    if (path[0] == "labels") return filters::LookupMap(path.subspan(1), &info.labels);
    return std::nullopt;  // "size" included: containerd never implemented it
  };
  return filter.Match(adaptor);
}

bool MatchStatus(const filters::Filter& filter, const Status& status) {
  if (filter.MatchesAll()) return true;
  auto adaptor = [&status](std::span<const std::string> path) -> std::optional<std::string> {
    if (path[0] == "ref") return status.ref;
    return std::nullopt;
  };
  return filter.Match(adaptor);
}

absl::StatusOr<std::vector<content::Info>> Store::List(std::span<const std::string> filters) {
  std::vector<content::Info> out;
  RETURN_IF_ERROR(Walk(
      [&](const content::Info& info) {
        out.push_back(info);
        return absl::OkStatus();
      },
      filters));
  return out;
}

}  // namespace berth::content
