// berthd's [plugins."io.containerd.gc.v1.scheduler"] config table against a real berthd: the
// same actions (a stray blob on disk at start, a lease deleted without `sync`) are collected at
// different times depending on the table, as seen on disk under <root>/io.containerd.content.v1.
// content. With the defaults, the stray blob is gone before berthd serves and the lease's blob
// promptly after the delete.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/content.h"
#include "client/leases.h"
#include "content/digester.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

std::string Sha(absl::string_view data) { return content::Digester::FromBytes(data).str(); }

class GcConfigTest : public ::testing::Test {
 protected:
  // Plants a stray blob (on disk, unknown to the metadata: what a crash between a write and its
  // commit record can leave), then starts berthd with `gc_table` as the body of its
  // [plugins."io.containerd.gc.v1.scheduler"] table. Records when berthd was started.
  ::testing::AssertionResult StartWith(const std::string& gc_table) {
    stray_ = Sha(stray_data_);
    std::error_code ec;
    std::filesystem::create_directories(
        daemon_.root() + "/io.containerd.content.v1.content/blobs/sha256", ec);
    if (ec) return ::testing::AssertionFailure() << "mkdir: " << ec.message();
    WriteFileOrDie(BlobPath(stray_), stray_data_);
    const std::string cfg = daemon_.dir() + "/config.toml";
    WriteFileOrDie(
        cfg, absl::StrCat("version = 2\n[plugins.\"io.containerd.gc.v1.scheduler\"]\n", gc_table));
    started_ = absl::Now();
    ::testing::AssertionResult r = daemon_.Start({"--config", cfg});
    if (r) client_ = daemon_.NewClient("gc-config");
    return r;
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "---- berthd log ----\n" << daemon_.Log() << "----\n";
  }

  std::string BlobPath(const std::string& digest) {
    return absl::StrCat(daemon_.root(), "/io.containerd.content.v1.content/blobs/sha256/",
                        digest.substr(digest.find(':') + 1));
  }
  bool OnDisk(const std::string& digest) { return access(BlobPath(digest).c_str(), F_OK) == 0; }

  // Writes a blob held only by lease `lease`; its digest.
  absl::StatusOr<std::string> WriteUnderLease(const std::string& lease, const std::string& data) {
    absl::StatusOr<client::Lease> created = client::CreateLease(*client_, lease, {});
    if (!created.ok()) return created.status();
    client_->set_lease(lease);
    client::WriteOptions o{.ref = absl::StrCat("ref-", lease),
                           .total = static_cast<int64_t>(data.size()),
                           .expected = Sha(data)};
    absl::StatusOr<std::string> d =
        client::WriteContent(*client_, o, [&data](int64_t offset) -> absl::StatusOr<std::string> {
          return data.substr(static_cast<size_t>(offset));
        });
    client_->set_lease("");
    return d;
  }

  Berthd daemon_;
  std::unique_ptr<client::Client> client_;
  const std::string stray_data_ = "a blob the metadata does not know";
  std::string stray_;
  absl::Time started_;
};

TEST_F(GcConfigTest, DefaultsCollectBeforeServingAndPromptlyAfterADelete) {
  ASSERT_TRUE(StartWith(""));
  EXPECT_FALSE(OnDisk(stray_)) << "the first collection runs before berthd serves";

  auto d = WriteUnderLease("l", "held by a lease, then released");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(OnDisk(*d));
  ASSERT_TRUE(client::DeleteLease(*client_, "l", /*sync=*/false).ok());
  EXPECT_TRUE(WaitFor([&] { return !OnDisk(*d); }, absl::Seconds(3)))
      << BlobPath(*d) << " still there 3 s after its lease was deleted";
}

TEST_F(GcConfigTest, ScheduleDelayDefersCollectionButNotTheStartupOne) {
  // Berthd::Start gives up after 10 s: a startup collection that waited schedule_delay would fail
  // here.
  ASSERT_TRUE(StartWith("schedule_delay = \"60s\"\ndeletion_threshold = 1\n"));
  EXPECT_FALSE(OnDisk(stray_)) << "the startup collection does not wait schedule_delay";

  auto d = WriteUnderLease("l", "held by a lease, then released");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(client::DeleteLease(*client_, "l", /*sync=*/false).ok());
  absl::SleepFor(absl::Seconds(3));
  EXPECT_TRUE(OnDisk(*d)) << "collected before schedule_delay (60 s) passed";
  EXPECT_TRUE(client::GetContentInfo(*client_, *d).ok()) << "the metadata is not swept either";
}

TEST_F(GcConfigTest, ExplicitStartupDelayIsContainerdsTimedFirstCollection) {
  constexpr absl::Duration kDelay = absl::Seconds(4);
  ASSERT_TRUE(StartWith("startup_delay = \"4s\"\n"));
  const absl::Duration start_took = absl::Now() - started_;
  // Start answers in well under a second; only a very slow start would leave no window to see
  // the blob before the timed collection.
  if (start_took < kDelay - absl::Seconds(1)) {
    EXPECT_TRUE(OnDisk(stray_)) << "collected before serving although startup_delay is set";
  } else {
    std::cerr << "berthd took " << start_took << " to start: not checking the blob before the "
              << "timed collection\n";
  }
  EXPECT_TRUE(WaitFor([&] { return !OnDisk(stray_); }, absl::Seconds(20)))
      << "no collection startup_delay after start";
  EXPECT_GE(absl::Now() - started_, kDelay - absl::Milliseconds(500))
      << "collected well before startup_delay";
}

}  // namespace
}  // namespace berth::test
