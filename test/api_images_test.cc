// Images service against a real berthd. Expected codes and messages are containerd 1.6's
// metadata/images.go and services/images/local.go.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "github.com/containerd/containerd/api/events/image.pb.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "client/namespaces.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace iapi = containerd::services::images::v1;
using absl::StatusCode;

constexpr char kDigest[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kManifestType[] = "application/vnd.oci.image.manifest.v1+json";

iapi::Image MakeImage(std::string name) {
  iapi::Image image;
  image.set_name(std::move(name));
  image.mutable_target()->set_media_type(kManifestType);
  image.mutable_target()->set_digest(kDigest);
  image.mutable_target()->set_size(100);
  return image;
}

class ImagesTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    stub_ = iapi::Images::NewStub(client_->channel());
  }
  absl::StatusOr<iapi::Image> Create(const iapi::Image& image) {
    iapi::CreateImageRequest req;
    *req.mutable_image() = image;
    iapi::CreateImageResponse resp;
    auto ctx = client_->NewContext();
    absl::Status st = client::FromGrpc(stub_->Create(ctx.get(), req, &resp));
    if (!st.ok()) return st;
    return resp.image();
  }
  absl::StatusOr<iapi::Image> Get(const std::string& name) {
    iapi::GetImageRequest req;
    req.set_name(name);
    iapi::GetImageResponse resp;
    auto ctx = client_->NewContext();
    absl::Status st = client::FromGrpc(stub_->Get(ctx.get(), req, &resp));
    if (!st.ok()) return st;
    return resp.image();
  }
  absl::StatusOr<std::vector<std::string>> ListNames(std::vector<std::string> filters = {}) {
    iapi::ListImagesRequest req;
    for (auto& f : filters) req.add_filters(f);
    iapi::ListImagesResponse resp;
    auto ctx = client_->NewContext();
    absl::Status st = client::FromGrpc(stub_->List(ctx.get(), req, &resp));
    if (!st.ok()) return st;
    std::vector<std::string> names;
    for (const auto& i : resp.images()) names.push_back(i.name());
    return names;
  }
  absl::StatusOr<iapi::Image> Update(const iapi::Image& image, std::vector<std::string> paths) {
    iapi::UpdateImageRequest req;
    *req.mutable_image() = image;
    for (auto& p : paths) req.mutable_update_mask()->add_paths(p);
    iapi::UpdateImageResponse resp;
    auto ctx = client_->NewContext();
    absl::Status st = client::FromGrpc(stub_->Update(ctx.get(), req, &resp));
    if (!st.ok()) return st;
    return resp.image();
  }
  absl::Status Delete(const std::string& name) {
    iapi::DeleteImageRequest req;
    req.set_name(name);
    google::protobuf::Empty resp;
    auto ctx = client_->NewContext();
    return client::FromGrpc(stub_->Delete(ctx.get(), req, &resp));
  }

  std::unique_ptr<iapi::Images::Stub> stub_;
};

TEST_F(ImagesTest, CreateGetListUpdateDeleteWithEvents) {
  EventStream events(*client_, {"topic~=\"^/images/\""});
  ASSERT_TRUE(events.WaitLive(absl::Seconds(5)));

  iapi::Image image = MakeImage("docker.io/library/busybox:latest");
  (*image.mutable_labels())["a"] = "1";
  (*image.mutable_target()->mutable_annotations())["org.opencontainers.image.ref.name"] = "latest";
  auto created = Create(image);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_GT(created->created_at().seconds(), 0);
  EXPECT_TRUE(HasCode(Create(image), StatusCode::kAlreadyExists,
                      "image \"docker.io/library/busybox:latest\": already exists"));

  auto got = Get("docker.io/library/busybox:latest");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->target().digest(), kDigest);
  EXPECT_EQ(got->target().size(), 100);
  EXPECT_EQ(got->target().annotations().at("org.opencontainers.image.ref.name"), "latest");
  EXPECT_EQ(got->labels().at("a"), "1");

  ASSERT_TRUE(Create(MakeImage("docker.io/library/alpine:3")).ok());
  EXPECT_EQ(*ListNames(), (std::vector<std::string>{"docker.io/library/alpine:3",
                                                    "docker.io/library/busybox:latest"}));
  EXPECT_EQ(*ListNames({"labels.a==1"}),
            std::vector<std::string>{"docker.io/library/busybox:latest"});
  EXPECT_EQ(*ListNames({"name~=alpine"}), std::vector<std::string>{"docker.io/library/alpine:3"});
  EXPECT_EQ(ListNames({absl::StrCat("target.digest==", kDigest)})->size(), 2u);

  // labels.<k> sets one label; target replaces the descriptor as a unit.
  iapi::Image change = MakeImage("docker.io/library/busybox:latest");
  (*change.mutable_labels())["b"] = "2";
  change.mutable_target()->set_size(200);
  auto updated = Update(change, {"labels.b"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels().size(), 2u);
  EXPECT_EQ(updated->target().size(), 100);
  updated = Update(change, {"target"});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->target().size(), 200);
  EXPECT_EQ(updated->created_at().seconds(), created->created_at().seconds());
  EXPECT_TRUE(HasCode(Update(change, {"name"}), StatusCode::kInvalidArgument,
                      "cannot update \"name\" field on image"));
  EXPECT_TRUE(HasCode(Update(MakeImage("nope"), {}), StatusCode::kNotFound,
                      "image \"nope\": not found"));

  ASSERT_TRUE(Delete("docker.io/library/busybox:latest").ok());
  EXPECT_TRUE(HasCode(Get("docker.io/library/busybox:latest"), StatusCode::kNotFound,
                      "image \"docker.io/library/busybox:latest\": not found"));
  EXPECT_TRUE(HasCode(Delete("docker.io/library/busybox:latest"), StatusCode::kNotFound));

  ASSERT_TRUE(events.WaitForCount(4, absl::Seconds(5)));
  std::vector<std::string> topics;
  for (const auto& e : events.Received()) topics.push_back(e.topic());
  EXPECT_EQ(topics, (std::vector<std::string>{"/images/create", "/images/create", "/images/update",
                                              "/images/update", "/images/delete"}));
  iapi::ImageDelete del;
  ASSERT_TRUE(del.ParseFromString(events.Received().back().event().value()));
  EXPECT_EQ(del.name(), "docker.io/library/busybox:latest");
}

TEST_F(ImagesTest, InvalidImagesAreRejected) {
  EXPECT_TRUE(HasCode(Create(MakeImage("")), StatusCode::kInvalidArgument, "Image.Name required"));
  iapi::Image bad = MakeImage("x");
  bad.mutable_target()->set_digest("sha256:short");
  EXPECT_TRUE(HasCode(Create(bad), StatusCode::kInvalidArgument, "Target.Digest"));
  bad = MakeImage("x");
  bad.mutable_target()->set_size(0);
  EXPECT_TRUE(HasCode(Create(bad), StatusCode::kInvalidArgument,
                      "Target.Size must be greater than zero"));
  bad = MakeImage("x");
  bad.mutable_target()->clear_media_type();
  EXPECT_TRUE(HasCode(Create(bad), StatusCode::kInvalidArgument, "Target.MediaType must be set"));
  EXPECT_TRUE(ListNames()->empty());

  // A namespace holding images cannot be deleted.
  ASSERT_TRUE(Create(MakeImage("held")).ok());
  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, client_->ns()),
                      StatusCode::kFailedPrecondition, "still has images"));
}

}  // namespace
}  // namespace berth::test
