#include "base/duration.h"

#include <string>

#include "absl/strings/match.h"

namespace berth {

std::optional<absl::Duration> ParseGoDuration(absl::string_view text) {
  std::string s(text);
  for (const char* micro : {"\xC2\xB5s", "\xCE\xBCs"}) {  // U+00B5 and U+03BC, as Go accepts
    for (size_t at; (at = s.find(micro)) != std::string::npos;) s.replace(at, 3, "us");
  }
  if (s.empty() || absl::StrContains(s, "inf")) return std::nullopt;
  absl::Duration d;
  if (!absl::ParseDuration(s, &d)) return std::nullopt;
  return d;
}

}  // namespace berth
