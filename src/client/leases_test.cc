#include "client/leases.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"

namespace berth::client {
namespace {

TEST(LeasesTest, GeneratedIdsLookLikeContainerds) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    std::string id = GenerateLeaseId();
    // containerd: fmt.Sprintf("%d-%s", t.Nanosecond(), base64.URLEncoding(3 random bytes)).
    size_t dash = id.find('-');
    ASSERT_NE(dash, std::string::npos) << id;
    int64_t nanos = -1;
    EXPECT_TRUE(absl::SimpleAtoi(id.substr(0, dash), &nanos)) << id;
    EXPECT_GE(nanos, 0);
    EXPECT_LT(nanos, 1000000000);
    std::string suffix = id.substr(dash + 1);
    ASSERT_EQ(suffix.size(), 4u) << id;
    for (char c : suffix) EXPECT_TRUE(absl::ascii_isalnum(c) || c == '-' || c == '_') << id;
    ids.insert(id);
  }
  // Ids are unique in practice (the daemon rejects duplicates with AlreadyExists).
  EXPECT_GT(ids.size(), 45u);
}

}  // namespace
}  // namespace berth::client
