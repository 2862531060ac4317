// Leases service against a real berthd. Expected codes and messages are containerd 1.6's
// metadata/leases.go and services/leases/service.go.

#include <gtest/gtest.h>

#include <algorithm>

#include "api/time.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/leases.h"
#include "client/timestamps.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace lapi = containerd::services::leases::v1;
using absl::StatusCode;

constexpr char kDigest[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

client::LeaseResource Resource(std::string type, std::string id) {
  client::LeaseResource r;
  r.set_type(std::move(type));
  r.set_id(std::move(id));
  return r;
}

std::vector<std::string> LeaseIds(const std::vector<client::Lease>& ls) {
  std::vector<std::string> ids;
  for (const auto& l : ls) ids.push_back(l.id());
  std::sort(ids.begin(), ids.end());
  return ids;
}

class LeasesTest : public DaemonTest {
 protected:
  // A raw Create, so that an empty id reaches the server (CreateLease fills one in).
  absl::StatusOr<client::Lease> RawCreate(const std::string& id, const client::Labels& labels) {
    lapi::CreateRequest req;
    req.set_id(id);
    req.mutable_labels()->insert(labels.begin(), labels.end());
    lapi::CreateResponse resp;
    auto ctx = client_->NewContext();
    grpc::Status s = client_->leases().Create(ctx.get(), req, &resp);
    if (!s.ok()) return client::FromGrpc(s);
    return resp.lease();
  }

  bool Exists(const std::string& id) {
    auto list = client::ListLeases(*client_, {"id==" + id});
    EXPECT_TRUE(list.ok()) << list.status();
    return list.ok() && !list->empty();
  }
};

TEST_F(LeasesTest, CreateWithAndWithoutId) {
  const absl::Time before = absl::Now();
  auto named = RawCreate("my-lease", {{"purpose", "pull"}});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->id(), "my-lease");
  EXPECT_EQ(named->labels().at("purpose"), "pull");
  absl::Time created = api::FromTimestamp(named->created_at());
  EXPECT_GE(created, before - absl::Seconds(1));
  EXPECT_LE(created, absl::Now() + absl::Seconds(1));

  // No id: the server generates one (containerd: leases.WithRandomID), distinct every time.
  auto a = RawCreate("", {});
  auto b = RawCreate("", {});
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_FALSE(a->id().empty());
  EXPECT_NE(a->id(), b->id());
  EXPECT_TRUE(Exists(a->id()));

  EXPECT_TRUE(HasCode(RawCreate("my-lease", {}), StatusCode::kAlreadyExists,
                      "lease \"my-lease\": already exists"));

  auto list = client::ListLeases(*client_);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 3u);
  for (const client::Lease& l : *list) {
    if (l.id() == "my-lease") {
      EXPECT_EQ(l.labels().at("purpose"), "pull");
    }
  }
}

TEST_F(LeasesTest, ListFilters) {
  ASSERT_TRUE(client::CreateLease(*client_, "l-a", {{"kind", "pull"}, {"x.y", "1"}}).ok());
  ASSERT_TRUE(client::CreateLease(*client_, "l-b", {{"kind", "build"}}).ok());
  ASSERT_TRUE(client::CreateLease(*client_, "other", {{"kind", "pull"}}).ok());

  struct Case {
    std::vector<std::string> filters;
    std::vector<std::string> want;
  };
  for (const Case& c : std::vector<Case>{
           {{}, {"l-a", "l-b", "other"}},
           {{"id==l-b"}, {"l-b"}},
           {{"id~=^l-"}, {"l-a", "l-b"}},
           {{"labels.kind==pull"}, {"l-a", "other"}},
           {{R"(labels."x.y"==1)"}, {"l-a"}},
           {{"labels.kind==pull,id~=^l"}, {"l-a"}},
           {{"id==l-b", "id==other"}, {"l-b", "other"}},
       }) {
    auto list = client::ListLeases(*client_, c.filters);
    ASSERT_TRUE(list.ok()) << list.status();
    EXPECT_EQ(LeaseIds(*list), c.want) << (c.filters.empty() ? "" : c.filters[0]);
  }
  EXPECT_TRUE(HasCode(client::ListLeases(*client_, {"id=="}), StatusCode::kInvalidArgument));

  // Leases are per namespace.
  auto other = daemon_.NewClient(UniqueName("other"));
  auto none = client::ListLeases(*other);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(LeasesTest, Resources) {
  ASSERT_TRUE(client::CreateLease(*client_, "res", {}).ok());
  ASSERT_TRUE(client::AddLeaseResource(*client_, "res", Resource("content", kDigest)).ok());
  ASSERT_TRUE(
      client::AddLeaseResource(*client_, "res", Resource("snapshots/overlayfs", "snap-key")).ok());
  ASSERT_TRUE(client::AddLeaseResource(*client_, "res", Resource("ingests", "ingest-ref")).ok());
  // Adding the same resource twice is not an error.
  EXPECT_TRUE(client::AddLeaseResource(*client_, "res", Resource("content", kDigest)).ok());

  auto listed = client::ListLeaseResources(*client_, "res");
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<std::string> got;
  for (const auto& r : *listed) got.push_back(r.type() + " " + r.id());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{absl::StrCat("content ", kDigest), "ingests ingest-ref",
                                           "snapshots/overlayfs snap-key"}));

  // Errors, as containerd's parseLeaseResource classifies them.
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "res", Resource("images", "x")),
                      StatusCode::kUnimplemented, "resource type images not supported yet"));
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "res", Resource("content", "nodigest")),
                      StatusCode::kInvalidArgument, "invalid content resource id nodigest"));
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "res", Resource("snapshots", "k")),
                      StatusCode::kInvalidArgument, "invalid snapshot resource type snapshots"));
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "res", Resource("content/x", kDigest)),
                      StatusCode::kInvalidArgument, "invalid resource type content/x"));
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "nope", Resource("content", kDigest)),
                      StatusCode::kNotFound));

  ASSERT_TRUE(client::DeleteLeaseResource(*client_, "res", Resource("content", kDigest)).ok());
  listed = client::ListLeaseResources(*client_, "res");
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  for (const auto& r : *listed) EXPECT_NE(r.type(), "content");

  ASSERT_TRUE(client::DeleteLease(*client_, "res").ok());
  EXPECT_FALSE(Exists("res"));
  EXPECT_TRUE(HasCode(client::DeleteLease(*client_, "res"), StatusCode::kNotFound,
                      "lease \"res\": not found"));
  EXPECT_TRUE(HasCode(client::ListLeaseResources(*client_, "res"), StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(client::AddLeaseResource(*client_, "res", Resource("content", kDigest)),
                      StatusCode::kNotFound));
}

TEST_F(LeasesTest, ExpiredLeaseIsCollected) {
  // The label containerd's leases.WithExpiration sets; the daemon's GC removes the lease after it.
  const absl::Time expires = absl::Now() + absl::Seconds(2);
  ASSERT_TRUE(client::CreateLease(*client_, "short",
                                  {{client::kLeaseExpireLabel,
                                    client::FormatRfc3339(expires, absl::UTCTimeZone(), true)}})
                  .ok());
  ASSERT_TRUE(client::CreateLease(*client_, "forever", {}).ok());
  ASSERT_TRUE(client::CreateLease(*client_, "later",
                                  {{client::kLeaseExpireLabel,
                                    client::FormatRfc3339(absl::Now() + absl::Hours(1))}})
                  .ok());
  EXPECT_TRUE(Exists("short")) << "deleted before its expiry";

  const bool gone =
      WaitFor([&] { return !Exists("short"); }, absl::Seconds(6), absl::Milliseconds(100));
  const absl::Time seen_gone = absl::Now();
  EXPECT_TRUE(gone) << "lease with containerd.io/gc.expire in the past still listed after 4 s";
  EXPECT_GE(seen_gone, expires - absl::Milliseconds(100)) << "collected before it expired";
  EXPECT_TRUE(Exists("forever"));
  EXPECT_TRUE(Exists("later"));
}

}  // namespace
}  // namespace berth::test
