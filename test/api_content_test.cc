// Content service against a real berthd. Expected codes and messages are containerd 1.6's
// services/content/contentserver and metadata/content.go.

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "client/content.h"
#include "client/leases.h"
#include "client/namespaces.h"
#include "content/digester.h"
#include "github.com/containerd/containerd/api/events/content.pb.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace capi = containerd::services::content::v1;
using absl::StatusCode;

std::string Sha(absl::string_view data) { return content::Digester::FromBytes(data).str(); }

// A source for WriteContent serving `data` in chunks of `chunk` bytes from any offset.
auto Chunks(const std::string& data, size_t chunk = 1 << 20) {
  return [&data, chunk](int64_t offset) -> absl::StatusOr<std::string> {
    return data.substr(static_cast<size_t>(offset), chunk);
  };
}

class ContentTest : public DaemonTest {
 protected:
  absl::StatusOr<std::string> Write(const std::string& ref, const std::string& data,
                                    bool with_expected = true) {
    client::WriteOptions o{.ref = ref, .total = static_cast<int64_t>(data.size())};
    if (with_expected) o.expected = Sha(data);
    return client::WriteContent(*client_, o, Chunks(data));
  }
  absl::StatusOr<std::string> Read(const std::string& digest, int64_t offset = 0,
                                   int64_t size = 0) {
    std::string out;
    absl::Status st = client::ReadContent(
        *client_, digest,
        [&](std::string_view chunk) {
          out.append(chunk);
          return absl::OkStatus();
        },
        offset, size);
    if (!st.ok()) return st;
    return out;
  }
};

TEST_F(ContentTest, WriteReadInfoListDelete) {
  EventStream events(*client_, {"topic==\"/content/delete\""});
  ASSERT_TRUE(events.WaitLive(absl::Seconds(5)));
  std::string data(3 << 20, 'x');  // several chunks each way
  for (size_t i = 0; i < data.size(); i += 4097) data[i] = static_cast<char>(i);
  auto digest = Write("blob-1", data);
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(*digest, Sha(data));

  auto info = client::GetContentInfo(*client_, *digest);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->size(), static_cast<int64_t>(data.size()));
  EXPECT_GT(info->created_at().seconds(), 0);

  auto read = Read(*digest);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(*read == data) << "read back differs";
  EXPECT_EQ(*Read(*digest, 10, 5), data.substr(10, 5));
  // size 0 or past the end reads to the end.
  EXPECT_EQ(*Read(*digest, static_cast<int64_t>(data.size()) - 3, 100), data.substr(data.size() - 3));
  EXPECT_TRUE(HasCode(Read(*digest, static_cast<int64_t>(data.size()) + 1), StatusCode::kOutOfRange,
                      "read past object length"));

  auto list = client::ListContent(*client_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest(), *digest);

  ASSERT_TRUE(client::DeleteContent(*client_, *digest).ok());
  auto ev = events.WaitForTopic("/content/delete", absl::Seconds(5));
  ASSERT_TRUE(ev.has_value());
  containerd::events::ContentDelete del;
  ASSERT_TRUE(del.ParseFromString(ev->event().value()));
  EXPECT_EQ(del.digest(), *digest);
  EXPECT_EQ(ev->event().type_url(), "containerd.events.ContentDelete");

  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, *digest), StatusCode::kNotFound,
                      absl::StrCat("content digest ", *digest, ": not found")));
  EXPECT_TRUE(HasCode(client::DeleteContent(*client_, *digest), StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(Read(*digest), StatusCode::kNotFound));
}

TEST_F(ContentTest, ListFiltersAndLabelUpdates) {
  auto a = Write("a", "alpha");
  auto b = Write("b", "beta");
  ASSERT_TRUE(a.ok() && b.ok());
  auto updated = client::UpdateContentLabels(*client_, *a, {{"k", "v"}, {"x", "y"}});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels().size(), 2u);
  // A labels.<key> path removes a key absent from the request.
  updated = client::UpdateContentLabels(*client_, *a, {}, {"labels.x"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels().size(), 1u);
  EXPECT_EQ(updated->labels().at("k"), "v");
  EXPECT_TRUE(HasCode(client::UpdateContentLabels(*client_, *a, {}, {"size"}),
                      StatusCode::kInvalidArgument, "cannot update \"size\" field"));

  auto filtered = client::ListContent(*client_, {"labels.k==v"});
  ASSERT_TRUE(filtered.ok());
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_EQ((*filtered)[0].digest(), *a);
  filtered = client::ListContent(*client_, {absl::StrCat("digest==", *b)});
  ASSERT_EQ(filtered->size(), 1u);
  EXPECT_TRUE(HasCode(client::ListContent(*client_, {"labels.k=="}), StatusCode::kInvalidArgument));
  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, "sha256:nothex"),
                      StatusCode::kInvalidArgument, "failed validation"));
}

TEST_F(ContentTest, WriteErrors) {
  // Existing blob with its expected digest: AlreadyExists at once.
  ASSERT_TRUE(Write("first", "same").ok());
  EXPECT_TRUE(HasCode(Write("second", "same"), StatusCode::kAlreadyExists,
                      absl::StrCat("content ", Sha("same"), ": already exists")));
  // A wrong expected digest fails the commit and shows nothing.
  client::WriteOptions o{.ref = "bad", .expected = Sha("something else")};
  std::string data = "actual";
  EXPECT_TRUE(HasCode(client::WriteContent(*client_, o, Chunks(data)),
                      StatusCode::kFailedPrecondition));
  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, Sha("actual")), StatusCode::kNotFound));
  // A wrong total fails the same way.
  o = {.ref = "short", .total = 100};
  EXPECT_TRUE(HasCode(client::WriteContent(*client_, o, Chunks(data)),
                      StatusCode::kFailedPrecondition, "size"));

  // The first message must name a ref.
  auto ctx = client_->NewStreamContext();
  auto stream = client_->content().Write(ctx.get());
  capi::WriteContentRequest req;
  req.set_action(capi::STAT);
  stream->Write(req);
  capi::WriteContentResponse resp;
  EXPECT_FALSE(stream->Read(&resp));
  EXPECT_TRUE(HasCode(client::FromGrpc(stream->Finish()), StatusCode::kInvalidArgument,
                      "first message must have a reference"));

  // Writes must land at the current offset.
  auto ctx2 = client_->NewStreamContext();
  auto s2 = client_->content().Write(ctx2.get());
  req.set_ref("gap");
  req.set_action(capi::WRITE);
  req.set_offset(0);
  req.set_data("abc");
  ASSERT_TRUE(s2->Write(req) && s2->Read(&resp));
  EXPECT_EQ(resp.offset(), 3);
  req.set_offset(10);
  s2->Write(req);
  EXPECT_FALSE(s2->Read(&resp));
  EXPECT_TRUE(HasCode(client::FromGrpc(s2->Finish()), StatusCode::kOutOfRange,
                      "write @10 must occur at current offset 3"));
}

TEST_F(ContentTest, ClientDisconnectingMidWriteLeavesAResumableIngest) {
  std::string data(2 << 20, 'r');
  for (size_t i = 0; i < data.size(); i += 333) data[i] = static_cast<char>(i * 7);
  {
    auto ctx = client_->NewStreamContext();
    auto stream = client_->content().Write(ctx.get());
    capi::WriteContentRequest req;
    capi::WriteContentResponse resp;
    req.set_ref("resume-me");
    req.set_action(capi::WRITE);
    req.set_total(static_cast<int64_t>(data.size()));
    req.set_data(data.substr(0, 1 << 20));
    ASSERT_TRUE(stream->Write(req) && stream->Read(&resp));
    EXPECT_EQ(resp.offset(), 1 << 20);
    ctx->TryCancel();  // the client goes away without commit or half-close
    stream->Finish();
  }
  // The ingest is visible with its offset once the server has noticed the cancellation.
  absl::StatusOr<client::IngestStatus> st;
  for (int i = 0; i < 100; ++i) {
    st = client::GetIngest(*client_, "resume-me");
    if (st.ok() && st->offset() == (1 << 20)) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->offset(), 1 << 20);
  EXPECT_EQ(st->total(), static_cast<int64_t>(data.size()));
  auto active = client::ListIngests(*client_);
  ASSERT_TRUE(active.ok());
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ((*active)[0].ref(), "resume-me");

  // A new write on the same ref resumes: the source is asked only from the stored offset.
  int64_t first_offset = -1;
  client::WriteOptions o{.ref = "resume-me",
                         .total = static_cast<int64_t>(data.size()),
                         .expected = Sha(data)};
  auto digest = client::WriteContent(*client_, o, [&](int64_t offset) -> absl::StatusOr<std::string> {
    if (first_offset < 0) first_offset = offset;
    return data.substr(static_cast<size_t>(offset), 1 << 19);
  });
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(first_offset, 1 << 20);
  EXPECT_TRUE(*Read(*digest) == data);
  EXPECT_TRUE(client::ListIngests(*client_)->empty());
  EXPECT_TRUE(HasCode(client::GetIngest(*client_, "resume-me"), StatusCode::kNotFound,
                      "could not get status for ref \"resume-me\": reference resume-me: not found"));
}

TEST_F(ContentTest, AbortRemovesTheIngest) {
  auto ctx = client_->NewStreamContext();
  auto stream = client_->content().Write(ctx.get());
  capi::WriteContentRequest req;
  capi::WriteContentResponse resp;
  req.set_ref("doomed");
  req.set_action(capi::WRITE);
  req.set_data("partial");
  ASSERT_TRUE(stream->Write(req) && stream->Read(&resp));
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_TRUE(client::GetIngest(*client_, "doomed").ok());
  ASSERT_TRUE(client::AbortIngest(*client_, "doomed").ok());
  EXPECT_TRUE(HasCode(client::GetIngest(*client_, "doomed"), StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(client::AbortIngest(*client_, "doomed"), StatusCode::kNotFound,
                      "reference doomed: not found"));
}

TEST_F(ContentTest, NamespacesShareBlobsButNotVisibility) {
  auto digest = Write("x", "shared across namespaces");
  ASSERT_TRUE(digest.ok());
  client_->set_namespace(UniqueName("other"));
  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, *digest), StatusCode::kNotFound));
  // Writing it with its expected digest needs no data: the daemon already holds the bytes.
  bool asked_for_data = false;
  client::WriteOptions o{.ref = "y", .total = 24, .expected = *digest};
  auto again = client::WriteContent(*client_, o, [&](int64_t offset) -> absl::StatusOr<std::string> {
    if (offset < 24) asked_for_data = true;
    return std::string();
  });
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(asked_for_data);
  EXPECT_EQ(*Read(*digest), "shared across namespaces");

  // A namespace holding blobs cannot be deleted.
  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, client_->ns()),
                      StatusCode::kFailedPrecondition, "still has blobs"));
  ASSERT_TRUE(client::DeleteContent(*client_, *digest).ok());
  EXPECT_TRUE(client::DeleteNamespace(*client_, client_->ns()).ok());
}

TEST_F(ContentTest, LeaseHeaderRecordsWrittenContent) {
  auto lease = client::CreateLease(*client_, "content-lease", {});
  ASSERT_TRUE(lease.ok());
  client_->set_lease("content-lease");
  auto digest = Write("leased", "held by a lease");
  ASSERT_TRUE(digest.ok()) << digest.status();
  client_->set_lease("");
  auto resources = client::ListLeaseResources(*client_, "content-lease");
  ASSERT_TRUE(resources.ok());
  ASSERT_EQ(resources->size(), 1u);
  EXPECT_EQ((*resources)[0].type(), "content");
  EXPECT_EQ((*resources)[0].id(), *digest);

  client_->set_lease("no-such-lease");
  EXPECT_TRUE(HasCode(Write("orphan", "x"), StatusCode::kNotFound, "lease does not exist"));
}

}  // namespace
}  // namespace berth::test
