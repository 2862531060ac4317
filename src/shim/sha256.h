// SHA-256 (FIPS 180-4) of a byte string, for the shim's socket name. The shim hashes one short
// string per start, and a dozen lines of arithmetic keep it from mapping a crypto library.
// Thread-safety: pure function.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace berth::shim {

// Lower-case hex of the SHA-256 digest of `data`.
std::string Sha256Hex(absl::string_view data);

}  // namespace berth::shim
