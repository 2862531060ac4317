#include "metadata/leases.h"

#include <gtest/gtest.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "metadata/lease_reaper.h"
#include "metadata/test_util.h"

namespace berth::metadata {
namespace {

constexpr char kDigest[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(LeaseStoreTest, CreateListDelete) {
  TempStore store;
  auto& ls = store->leases();
  auto l = ls.Create("ns", "l1", {{"a", "b"}});
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->labels, (Labels{{"a", "b"}}));
  EXPECT_EQ(ls.Create("ns", "l1", {}).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ls.Create("ns", "l2", {}).ok());
  EXPECT_EQ(ls.List("ns", {})->size(), 2u);
  auto filtered = ls.List("ns", std::vector<std::string>{"labels.a==b"});
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].id, "l1");
  EXPECT_TRUE(ls.List("other", {})->empty());
  ASSERT_TRUE(ls.Delete("ns", "l1").ok());
  EXPECT_EQ(ls.Delete("ns", "l1").message(), "lease \"l1\": not found");
}

TEST(LeaseStoreTest, Resources) {
  TempStore store;
  auto& ls = store->leases();
  ASSERT_TRUE(ls.Create("ns", "l1", {}).ok());
  ASSERT_TRUE(ls.AddResource("ns", "l1", {.id = kDigest, .type = "content"}).ok());
  ASSERT_TRUE(ls.AddResource("ns", "l1", {.id = kDigest, .type = "content"}).ok()) << "idempotent";
  ASSERT_TRUE(ls.AddResource("ns", "l1", {.id = "key", .type = "snapshots/overlayfs"}).ok());
  EXPECT_EQ(ls.AddResource("ns", "l1", {.id = "x", .type = "content"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ls.AddResource("ns", "l1", {.id = "x", .type = "images"}).code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(ls.AddResource("ns", "l1", {.id = "x", .type = "snapshots"}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ls.AddResource("ns", "nope", {.id = kDigest, .type = "content"}).code(),
            absl::StatusCode::kNotFound);
  auto rs = ls.ListResources("ns", "l1");
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(*rs, (std::vector<LeaseResource>{{.id = kDigest, .type = "content"},
                                             {.id = "key", .type = "snapshots/overlayfs"}}));
  ASSERT_TRUE(ls.DeleteResource("ns", "l1", {.id = "key", .type = "snapshots/overlayfs"}).ok());
  EXPECT_EQ(ls.ListResources("ns", "l1")->size(), 1u);
  ASSERT_TRUE(ls.Delete("ns", "l1").ok());
  EXPECT_EQ(ls.ListResources("ns", "l1").status().code(), absl::StatusCode::kNotFound);
}

TEST(LeaseStoreTest, ExpiryLabel) {
  TempStore store;
  auto& ls = store->leases();
  std::string past = absl::FormatTime(absl::RFC3339_full, absl::Now() - absl::Seconds(1),
                                      absl::UTCTimeZone());
  std::string future = absl::FormatTime(absl::RFC3339_full, absl::Now() + absl::Hours(1),
                                        absl::UTCTimeZone());
  ASSERT_TRUE(ls.Create("ns", "old", {{kLabelGcExpire, past}}).ok());
  ASSERT_TRUE(ls.Create("ns", "new", {{kLabelGcExpire, future}}).ok());
  ASSERT_TRUE(ls.Create("ns", "bad", {{kLabelGcExpire, "not a time"}}).ok());
  auto next = ls.NextExpiry();
  ASSERT_TRUE(next.ok() && next->has_value());
  auto expired = ls.DeleteExpired(absl::Now());
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, (std::vector<std::pair<std::string, std::string>>{{"ns", "old"}}));
  EXPECT_EQ(ls.List("ns", {})->size(), 2u);
}

TEST(LeaseReaperTest, DeletesALeaseWhenItExpires) {
  TempStore store;
  auto& ls = store->leases();
  LeaseReaper reaper(&ls);
  std::string soon = absl::FormatTime(absl::RFC3339_full, absl::Now() + absl::Milliseconds(300),
                                      absl::UTCTimeZone());
  ASSERT_TRUE(ls.Create("ns", "short", {{kLabelGcExpire, soon}}).ok());
  reaper.Poke();
  absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (absl::Now() < deadline && !ls.List("ns", {})->empty()) absl::SleepFor(absl::Milliseconds(20));
  EXPECT_TRUE(ls.List("ns", {})->empty());
}

TEST(LeaseStoreTest, RandomIdsLookLikeContainerds) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    std::string id = RandomLeaseId();
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
  EXPECT_GT(ids.size(), 45u) << "ids are unique in practice";
}

}  // namespace
}  // namespace berth::metadata
