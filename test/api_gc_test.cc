// Garbage collection against a real berthd: what clients see through the Content API and what
// is left on disk under <root>/io.containerd.content.v1.content after Images/Delete and
// Leases/Delete with `sync`, and after plain deletes (collected in the background).

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/content.h"
#include "client/introspection.h"
#include "client/leases.h"
#include "content/digester.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace iapi = containerd::services::images::v1;
using absl::StatusCode;

std::string Sha(absl::string_view data) { return content::Digester::FromBytes(data).str(); }

class GcTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    if (client_) images_ = iapi::Images::NewStub(client_->channel());
  }

  absl::StatusOr<std::string> Write(client::Client& c, const std::string& data,
                                    const client::Labels& labels = {}) {
    client::WriteOptions o{.ref = absl::StrCat("ref-", Sha(data)),
                           .total = static_cast<int64_t>(data.size()),
                           .expected = Sha(data),
                           .labels = labels};
    return client::WriteContent(c, o, [&data](int64_t offset) -> absl::StatusOr<std::string> {
      return data.substr(static_cast<size_t>(offset));
    });
  }
  std::string BlobPath(const std::string& digest) {
    return absl::StrCat(daemon_.root(), "/io.containerd.content.v1.content/blobs/sha256/",
                        digest.substr(digest.find(':') + 1));
  }
  bool OnDisk(const std::string& digest) { return access(BlobPath(digest).c_str(), F_OK) == 0; }
  absl::Status CreateImage(const std::string& name, const std::string& target, int64_t size) {
    iapi::CreateImageRequest req;
    req.mutable_image()->set_name(name);
    auto* t = req.mutable_image()->mutable_target();
    t->set_media_type("application/vnd.oci.image.manifest.v1+json");
    t->set_digest(target);
    t->set_size(size);
    iapi::CreateImageResponse resp;
    auto ctx = client_->NewContext();
    return client::FromGrpc(images_->Create(ctx.get(), req, &resp));
  }
  absl::Status DeleteImage(const std::string& name, bool sync) {
    iapi::DeleteImageRequest req;
    req.set_name(name);
    req.set_sync(sync);
    google::protobuf::Empty resp;
    auto ctx = client_->NewContext();
    return client::FromGrpc(images_->Delete(ctx.get(), req, &resp));
  }

  std::unique_ptr<iapi::Images::Stub> images_;
};

TEST_F(GcTest, SchedulerPluginIsLoaded) {
  auto plugins = client::ListPlugins(*client_, {"type==io.containerd.gc.v1"});
  ASSERT_TRUE(plugins.ok()) << plugins.status();
  ASSERT_EQ(plugins->size(), 1u);
  EXPECT_EQ((*plugins)[0].id(), "scheduler");
  EXPECT_FALSE((*plugins)[0].has_init_err()) << (*plugins)[0].init_err().message();
}

TEST_F(GcTest, ImageDeleteSyncRemovesItsBlobsFromTheApiAndTheDisk) {
  // As a pull does: the blobs are written under a lease, the image created, the lease dropped.
  ASSERT_TRUE(client::CreateLease(*client_, "pull", {}).ok());
  client_->set_lease("pull");
  const std::string config_data = R"({"architecture":"amd64","os":"linux"})";
  const std::string layer_data(300 << 10, 'L');
  auto config = Write(*client_, config_data);
  auto layer = Write(*client_, layer_data);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(layer.ok()) << layer.status();
  const std::string manifest_data =
      absl::StrCat(R"({"schemaVersion":2,"config":")", *config, R"(","layers":[")", *layer, "\"]}");
  auto manifest = Write(*client_, manifest_data,
                        {{"containerd.io/gc.ref.content.config", *config},
                         {"containerd.io/gc.ref.content.l.0", *layer}});
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  client_->set_lease("");
  // A second image keeps a blob of its own, which must survive the first one's deletion.
  auto other = Write(*client_, "other manifest", {{"containerd.io/gc.root", "test"}});
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE(
      CreateImage("docker.io/library/gc:1", *manifest, static_cast<int64_t>(manifest_data.size()))
          .ok());
  ASSERT_TRUE(client::DeleteLease(*client_, "pull", /*sync=*/true).ok());

  // The image holds its tree.
  for (const std::string& d : {*config, *layer, *manifest, *other}) {
    EXPECT_TRUE(client::GetContentInfo(*client_, d).ok()) << d;
    EXPECT_TRUE(OnDisk(d)) << BlobPath(d);
  }

  ASSERT_TRUE(DeleteImage("docker.io/library/gc:1", /*sync=*/true).ok());
  // sync: gone on return, from the API and from disk.
  for (const std::string& d : {*config, *layer, *manifest}) {
    EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, d), StatusCode::kNotFound, "not found"))
        << d;
    EXPECT_FALSE(OnDisk(d)) << BlobPath(d);
  }
  EXPECT_TRUE(client::GetContentInfo(*client_, *other).ok());
  EXPECT_TRUE(OnDisk(*other));
}

TEST_F(GcTest, LeaseDeleteSyncRemovesWhatTheLeaseHeld) {
  ASSERT_TRUE(client::CreateLease(*client_, "work", {}).ok());
  client_->set_lease("work");
  auto d = Write(*client_, "held only by a lease");
  ASSERT_TRUE(d.ok()) << d.status();
  client_->set_lease("");
  ASSERT_TRUE(OnDisk(*d));
  ASSERT_TRUE(client::DeleteLease(*client_, "work", /*sync=*/true).ok());
  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, *d), StatusCode::kNotFound));
  EXPECT_FALSE(OnDisk(*d));
  EXPECT_TRUE(HasCode(client::DeleteLease(*client_, "work", true), StatusCode::kNotFound));
}

TEST_F(GcTest, BlobSharedByTwoNamespacesStaysUntilBothDropIt) {
  auto other = daemon_.NewClient(UniqueName("gc-other"));
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(client::CreateLease(*client_, "l", {}).ok());
  ASSERT_TRUE(client::CreateLease(*other, "l", {}).ok());
  client_->set_lease("l");
  other->set_lease("l");
  auto d = Write(*client_, "bytes in two namespaces");
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(Write(*other, "bytes in two namespaces").ok());
  client_->set_lease("");
  other->set_lease("");

  ASSERT_TRUE(client::DeleteLease(*client_, "l", /*sync=*/true).ok());
  EXPECT_TRUE(HasCode(client::GetContentInfo(*client_, *d), StatusCode::kNotFound));
  EXPECT_TRUE(client::GetContentInfo(*other, *d).ok());
  EXPECT_TRUE(OnDisk(*d));

  ASSERT_TRUE(client::DeleteLease(*other, "l", /*sync=*/true).ok());
  EXPECT_FALSE(OnDisk(*d));
}

TEST_F(GcTest, PlainContentDeleteIsCollectedInTheBackground) {
  auto d = Write(*client_, "rooted, then deleted", {{"containerd.io/gc.root", "test"}});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(OnDisk(*d));
  ASSERT_TRUE(client::DeleteContent(*client_, *d).ok());
  // No sync on Content/Delete: the /content/delete event schedules a collection.
  EXPECT_TRUE(WaitFor([&] { return !OnDisk(*d); }, absl::Seconds(10)))
      << BlobPath(*d) << " still there";
}

TEST_F(GcTest, CollectionSurvivesARestart) {
  // What the metadata no longer references is removed by the startup collection.
  ASSERT_TRUE(client::CreateLease(*client_, "l", {}).ok());
  client_->set_lease("l");
  auto d = Write(*client_, "held across a restart");
  ASSERT_TRUE(d.ok()) << d.status();
  client_->set_lease("");
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_TRUE(client::GetContentInfo(*client_, *d).ok());
  EXPECT_TRUE(OnDisk(*d));
  ASSERT_TRUE(client::DeleteLease(*client_, "l", /*sync=*/true).ok());
  EXPECT_FALSE(OnDisk(*d));
}

}  // namespace
}  // namespace berth::test
