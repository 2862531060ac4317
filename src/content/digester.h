// Running sha256 over a byte stream (OpenSSL's EVP interface), yielding OCI digests.
// Thread-safety: like a value type; one Digester must not be used from two threads at once.
#pragma once

#include <memory>

#include "absl/strings/string_view.h"
#include "base/digest.h"

struct evp_md_ctx_st;

namespace berth::content {

class Digester {
 public:
  Digester();
  ~Digester();
  Digester(const Digester&) = delete;
  Digester& operator=(const Digester&) = delete;

  void Update(absl::string_view data);
  // The digest of everything written so far; does not end the stream.
  berth::Digest Current() const;
  // Forgets everything written.
  void Reset();

  // sha256 of `data` in one call.
  static berth::Digest FromBytes(absl::string_view data);

 private:
  struct CtxFree {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::unique_ptr<evp_md_ctx_st, CtxFree> ctx_;
};

}  // namespace berth::content
