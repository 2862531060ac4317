#include "client/unpack.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/match.h"
#include "client/import.h"
#include "re2/re2.h"

namespace berth::client {
namespace {

constexpr char kChain[] = "sha256:8c0458a7a9e67942b2aa1ef6efa0489148a53bf42d48ade24b6f08a12b272860";

// containerd's snapshots.UnpackKeyFormat with rootfs.uniquePart: tools that look for unpack
// leftovers (and users reading `snapshots ls`) recognise the keys by this shape.
TEST(ExtractionKeyTest, HasContainerdsShape) {
  std::string key = ExtractionKey(kChain);
  EXPECT_TRUE(RE2::FullMatch(key, R"(extract-\d{1,9}-[A-Za-z0-9_-]{4} sha256:[0-9a-f]{64})"))
      << key;
  EXPECT_TRUE(absl::EndsWith(key, std::string(" ") + kChain)) << key;
}

TEST(ExtractionKeyTest, KeysDiffer) {
  std::set<std::string> keys;
  for (int i = 0; i < 100; ++i) keys.insert(ExtractionKey(kChain));
  EXPECT_GT(keys.size(), 95u) << "keys must be (practically) unique per attempt";
}

TEST(DefaultImportPrefixTest, IsImportAndADate) {
  EXPECT_TRUE(RE2::FullMatch(DefaultImportPrefix(), R"(import-\d{4}-\d{2}-\d{2})"))
      << DefaultImportPrefix();
}

}  // namespace
}  // namespace berth::client
