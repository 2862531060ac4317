// Diff service against a real berthd: Apply a layer blob from the content store onto mounts and
// Diff two mounts into a new layer blob, as containerd's unpacker and `ctr snapshots diff` do.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "client/content.h"
#include "content/digester.h"
#include "github.com/containerd/containerd/api/services/diff/v1/diff.grpc.pb.h"
#include "sys/file.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace dapi = containerd::services::diff::v1;
using absl::StatusCode;

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string ReadText(const std::string& path) {
  absl::StatusOr<std::string> s = sys::ReadFile(path);
  return s.ok() ? *s : "<missing>";
}

containerd::types::Mount Bind(const std::string& dir) {
  containerd::types::Mount m;
  m.set_type("bind");
  m.set_source(dir);
  m.add_options("rbind");
  m.add_options("rw");
  return m;
}

class DiffTest : public DaemonTest {
 protected:
  void SetUp() override {
    DaemonTest::SetUp();
    stub_ = dapi::Diff::NewStub(client_->channel());
  }
  // Stores `path`'s bytes as a blob; returns its digest.
  std::string Store(const std::string& path) {
    std::string data = *sys::ReadFile(path);
    client::WriteOptions o{.ref = path, .total = static_cast<int64_t>(data.size())};
    auto d = client::WriteContent(*client_, o, [&](int64_t off) -> absl::StatusOr<std::string> {
      return data.substr(static_cast<size_t>(off), 1 << 20);
    });
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? *d : "";
  }
  absl::StatusOr<dapi::ApplyResponse> Apply(const std::string& digest, int64_t size,
                                            const std::string& media_type,
                                            const std::string& dir) {
    dapi::ApplyRequest req;
    req.mutable_diff()->set_digest(digest);
    req.mutable_diff()->set_size(size);
    req.mutable_diff()->set_media_type(media_type);
    *req.add_mounts() = Bind(dir);
    dapi::ApplyResponse resp;
    auto ctx = client_->NewContext();
    absl::Status st = client::FromGrpc(stub_->Apply(ctx.get(), req, &resp));
    if (!st.ok()) return st;
    return resp;
  }

  TempDir work_{"berth-diff"};
  std::unique_ptr<dapi::Diff::Stub> stub_;
};

TEST_F(DiffTest, ApplyThenDiffRoundTrips) {
  // A gzip layer made by GNU tar, with a whiteout for a file of the lower tree.
  const std::string layer_src = work_.Sub("layer");
  WriteText(layer_src + "/etc/hello", "hi\n");
  WriteText(layer_src + "/.wh.gone", "");
  const std::string tgz = work_.Sub("layer.tgz");
  CommandResult r = RunCommand({"/bin/tar", "-C", layer_src, "-czf", tgz, "."});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string digest = Store(tgz);

  const std::string lower = work_.Sub("lower");
  WriteText(lower + "/gone", "bye\n");
  WriteText(lower + "/kept", "stay\n");
  const std::string upper = work_.Sub("upper");
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", lower, upper}).exit_code, 0);

  auto applied = Apply(digest, 0, "application/vnd.oci.image.layer.v1.tar+gzip", upper);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->applied().media_type(), "application/vnd.oci.image.layer.v1.tar");
  // The applied digest is the uncompressed tar's (the image config's diff_id).
  r = RunCommand({"/bin/sh", "-c", "gzip -dc " + tgz + " | sha256sum"});
  EXPECT_EQ(applied->applied().digest(), "sha256:" + r.out.substr(0, 64));
  EXPECT_EQ(ReadText(upper + "/etc/hello"), "hi\n");
  EXPECT_EQ(ReadText(upper + "/kept"), "stay\n");
  struct stat st;
  EXPECT_NE(lstat((upper + "/gone").c_str(), &st), 0) << "the whiteout did not remove the file";

  // Diff(lower, upper) gives a layer that turns a copy of lower into upper.
  dapi::DiffRequest dreq;
  *dreq.add_left() = Bind(lower);
  *dreq.add_right() = Bind(upper);
  dreq.set_ref("diff-1");
  (*dreq.mutable_labels())["made.by"] = "test";
  dapi::DiffResponse dresp;
  auto ctx = client_->NewContext();
  ASSERT_TRUE(stub_->Diff(ctx.get(), dreq, &dresp).ok());
  EXPECT_EQ(dresp.diff().media_type(), "application/vnd.oci.image.layer.v1.tar+gzip");
  auto info = client::GetContentInfo(*client_, dresp.diff().digest());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->labels().at("made.by"), "test");
  EXPECT_TRUE(info->labels().contains("containerd.io/uncompressed"));

  const std::string replay = work_.Sub("replay");
  ASSERT_EQ(RunCommand({"/bin/cp", "-a", lower, replay}).exit_code, 0);
  auto again = Apply(dresp.diff().digest(), dresp.diff().size(), dresp.diff().media_type(), replay);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->applied().digest(), info->labels().at("containerd.io/uncompressed"));
  EXPECT_EQ(ReadText(replay + "/etc/hello"), "hi\n");
  EXPECT_EQ(ReadText(replay + "/kept"), "stay\n");
  EXPECT_NE(lstat((replay + "/gone").c_str(), &st), 0);
}

TEST_F(DiffTest, Errors) {
  const std::string dir = work_.Sub("target");
  std::filesystem::create_directories(dir);
  const std::string missing = content::Digester::FromBytes("absent").str();
  EXPECT_TRUE(HasCode(Apply(missing, 6, "application/vnd.oci.image.layer.v1.tar", dir),
                      StatusCode::kNotFound));
  // Not a layer media type.
  WriteText(work_.Sub("cfg"), "{}");
  std::string cfg = Store(work_.Sub("cfg"));
  EXPECT_TRUE(HasCode(Apply(cfg, 2, "application/vnd.oci.image.config.v1+json", dir),
                      StatusCode::kUnimplemented));
  // A blob that is not a tar fails with a clear error and leaves the target as it was.
  WriteText(work_.Sub("garbage"), std::string(4096, 'g'));
  std::string garbage = Store(work_.Sub("garbage"));
  auto bad = Apply(garbage, 4096, "application/vnd.oci.image.layer.v1.tar", dir);
  EXPECT_FALSE(bad.ok());
  EXPECT_TRUE(absl::StrContains(bad.status().message(), garbage)) << bad.status();
  EXPECT_TRUE(std::filesystem::is_empty(dir));

  dapi::DiffRequest dreq;
  *dreq.add_left() = Bind(dir);
  *dreq.add_right() = Bind(dir);
  dreq.set_media_type("application/vnd.oci.image.layer.v1.tar+zstd");
  dapi::DiffResponse dresp;
  auto ctx = client_->NewContext();
  EXPECT_TRUE(HasCode(client::FromGrpc(stub_->Diff(ctx.get(), dreq, &dresp)),
                      StatusCode::kUnimplemented, "unsupported diff media type"));
}

}  // namespace
}  // namespace berth::test
