#include "base/digest.h"

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth {

absl::StatusOr<Digest> Digest::Parse(absl::string_view s) {
  size_t colon = s.find(':');
  if (colon == absl::string_view::npos || colon == 0 || colon + 1 == s.size()) {
    return ErrInvalidArgument(absl::StrCat("invalid checksum digest format: \"", s, "\""));
  }
  absl::string_view algorithm = s.substr(0, colon);
  absl::string_view hex = s.substr(colon + 1);
  size_t want;
  if (algorithm == "sha256") {
    want = 64;
  } else if (algorithm == "sha384") {
    want = 96;
  } else if (algorithm == "sha512") {
    want = 128;
  } else {
    return ErrInvalidArgument(absl::StrCat("unsupported digest algorithm: \"", s, "\""));
  }
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return ErrInvalidArgument(absl::StrCat("invalid checksum digest format: \"", s, "\""));
    }
  }
  if (hex.size() != want) {
    return ErrInvalidArgument(absl::StrCat("invalid checksum digest length: \"", s, "\""));
  }
  return Digest(std::string(s));
}

absl::string_view Digest::algorithm() const {
  return absl::string_view(value_).substr(0, value_.find(':'));
}

absl::string_view Digest::hex() const {
  return absl::string_view(value_).substr(value_.find(':') + 1);
}

}  // namespace berth
