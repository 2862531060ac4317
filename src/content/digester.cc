#include "content/digester.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace berth::content {
namespace {

// OpenSSL failing to allocate or to provide sha256 is not an input error: abort loudly.
void Require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "berth: openssl %s failed\n", what);
  std::abort();
}

}  // namespace

void Digester::CtxFree::operator()(evp_md_ctx_st* ctx) const { EVP_MD_CTX_free(ctx); }

Digester::Digester() : ctx_(EVP_MD_CTX_new()) {
  // Allocation failure or a missing sha256 is not something a caller can handle.
  Require(ctx_ != nullptr, "EVP_MD_CTX_new");
  Reset();
}

Digester::~Digester() = default;

void Digester::Reset() {
  Require(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "DigestInit");
}

void Digester::Update(absl::string_view data) {
  Require(EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) == 1, "DigestUpdate");
}

berth::Digest Digester::Current() const {
  std::unique_ptr<EVP_MD_CTX, CtxFree> copy(EVP_MD_CTX_new());
  Require(copy != nullptr, "EVP_MD_CTX_new");
  Require(EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) == 1, "MD_CTX_copy");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  Require(EVP_DigestFinal_ex(copy.get(), md, &len) == 1, "DigestFinal");
  std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(md), len));
  auto d = berth::Digest::Parse(absl::StrCat("sha256:", hex));
  Require(d.ok(), "digest encoding");
  return *std::move(d);
}

berth::Digest Digester::FromBytes(absl::string_view data) {
  Digester d;
  d.Update(data);
  return d.Current();
}

}  // namespace berth::content
