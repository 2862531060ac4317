#include "base/identifiers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth {

absl::Status ValidateIdentifier(absl::string_view id) {
  if (id.empty()) return ErrInvalidArgument("identifier must not be empty");
  if (id.size() > kMaxIdentifierLength) {
    return ErrInvalidArgument(absl::StrCat("identifier \"", id, "\" greater than maximum length (",
                                           kMaxIdentifierLength, " characters)"));
  }
  // ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$ : a separator only between two alphanumerics.
  bool prev_alnum = false;
  bool ok = true;
  for (char c : id) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      prev_alnum = true;
    } else if ((c == '.' || c == '_' || c == '-') && prev_alnum) {
      prev_alnum = false;
    } else {
      ok = false;
      break;
    }
  }
  if (!ok || !prev_alnum) {
    return ErrInvalidArgument(absl::StrCat(
        "identifier \"", id, "\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$"));
  }
  return absl::OkStatus();
}

}  // namespace berth
