// Content digests in OCI form, "<algorithm>:<hex>", validated like go-digest: sha256 (64 hex),
// sha384 (96) and sha512 (128), lower-case hex only.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace berth {

class Digest {
 public:
  // Parses and validates `s`; InvalidArgument naming the problem otherwise.
  static absl::StatusOr<Digest> Parse(absl::string_view s);

  const std::string& str() const { return value_; }
  absl::string_view algorithm() const;
  absl::string_view hex() const;
  bool operator==(const Digest&) const = default;

 private:
  explicit Digest(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

}  // namespace berth
