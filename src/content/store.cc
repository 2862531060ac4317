#include "content/store.h"

#include "base/status.h"

namespace berth::content {

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
