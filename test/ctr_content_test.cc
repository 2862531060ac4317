// `ctr content ...` (the real containerd 1.6 client) against berthd: what a user types to store,
// inspect, label and remove blobs.

#include <gtest/gtest.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "content/digester.h"
#include "test/ctr_fixture.h"

namespace berth::test {
namespace {

using CtrContentTest = CtrTest;

TEST_F(CtrContentTest, IngestListGetLabelRemove) {
  const std::string data = "hello from ctr\n";
  const std::string digest = content::Digester::FromBytes(data).str();
  CommandResult r = RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "content", "ingest",
                                "--expected-size", std::to_string(data.size()),
                                "--expected-digest", digest, "ref-1"},
                               absl::Seconds(30), data);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = Ctr({"content", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, digest);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[1], "15B");
  EXPECT_EQ(Lines(Ctr({"content", "ls", "-q"}).out), std::vector<std::string>{digest});

  r = Ctr({"content", "get", digest});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, data);

  r = Ctr({"content", "label", digest, "team=core", "tier=base"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  row = Row(Ctr({"content", "ls"}).out, digest);
  ASSERT_TRUE(row.has_value());
  // ctr prints Go map order: compare as a set.
  std::vector<std::string> labels = absl::StrSplit(row->back(), ',');
  std::sort(labels.begin(), labels.end());
  EXPECT_EQ(labels, (std::vector<std::string>{"team=core", "tier=base"}));

  // Other namespaces do not see it.
  EXPECT_TRUE(Lines(CtrIn(UniqueName("elsewhere"), {"content", "ls", "-q"}).out).empty());

  r = Ctr({"content", "rm", digest});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Lines(Ctr({"content", "ls", "-q"}).out).empty());
  r = Ctr({"content", "get", digest});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.Describe();
}

TEST_F(CtrContentTest, IngestWithWrongDigestFailsAndStoresNothing) {
  const std::string wrong = content::Digester::FromBytes("other").str();
  CommandResult r = RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "content", "ingest",
                                "--expected-digest", wrong, "ref-bad"},
                               absl::Seconds(30), "payload");
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "failed precondition")) << r.Describe();
  EXPECT_TRUE(Lines(Ctr({"content", "ls", "-q"}).out).empty());
}

TEST_F(CtrContentTest, ActiveShowsOpenIngests) {
  // An ingest left open by an earlier client (written through our client library, not closed).
  auto ctx = client_->NewStreamContext();
  auto stream = client_->content().Write(ctx.get());
  containerd::services::content::v1::WriteContentRequest req;
  containerd::services::content::v1::WriteContentResponse resp;
  req.set_ref("half-done");
  req.set_action(containerd::services::content::v1::WRITE);
  req.set_total(100);
  req.set_data(std::string(40, 'a'));
  ASSERT_TRUE(stream->Write(req) && stream->Read(&resp));
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());

  CommandResult r = Ctr({"content", "active"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, "half-done");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[1], "40B");
}

}  // namespace
}  // namespace berth::test
