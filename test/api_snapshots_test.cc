// Snapshots service against a real berthd with its overlayfs and native snapshotters. Expected
// codes and messages are containerd 1.6's metadata/snapshot.go and services/snapshots/service.go.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/leases.h"
#include "client/namespaces.h"
#include "client/snapshots.h"
#include "github.com/containerd/containerd/api/events/snapshot.pb.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace sapi = containerd::services::snapshots::v1;
using absl::StatusCode;
using client::kDefaultSnapshotter;

std::vector<std::string> Keys(const absl::StatusOr<std::vector<client::SnapshotInfo>>& infos) {
  EXPECT_TRUE(infos.ok()) << infos.status();
  std::vector<std::string> out;
  if (infos.ok()) {
    for (const auto& i : *infos) out.push_back(i.name());
  }
  return out;
}

std::string Options(const client::Mount& m) {
  std::string out;
  for (const std::string& o : m.options()) absl::StrAppend(&out, out.empty() ? "" : ",", o);
  return out;
}

class SnapshotsTest : public DaemonTest {
 protected:
  // As containerd's clients do, work under a lease: garbage collection removes snapshots that
  // nothing (lease, gc.root label, container, image) refers to.
  void SetUp() override {
    DaemonTest::SetUp();
    if (client_ != nullptr) Hold(*client_);
  }
  static void Hold(client::Client& c) {
    auto lease = client::CreateLease(c, "test-hold", {});
    ASSERT_TRUE(lease.ok()) << lease.status();
    c.set_lease("test-hold");
  }

  // The directory an active snapshot without parent is bind-mounted from (on the host).
  static std::string BindSource(const absl::StatusOr<std::vector<client::Mount>>& mounts) {
    EXPECT_TRUE(mounts.ok()) << mounts.status();
    if (!mounts.ok() || mounts->size() != 1) return "";
    EXPECT_EQ((*mounts)[0].type(), "bind");
    return (*mounts)[0].source();
  }
};

TEST_F(SnapshotsTest, LifecycleWithEvents) {
  EventStream events(*client_, {"topic~=\"^/snapshot/\""});
  ASSERT_TRUE(events.WaitLive(absl::Seconds(5)));

  auto mounts = client::PrepareSnapshot(*client_, kDefaultSnapshotter, "layer-1", "",
                                        {{"containerd.io/gc.root", "now"}});
  const std::string dir = BindSource(mounts);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(Options((*mounts)[0]), "rw,rbind");
  EXPECT_TRUE(absl::StartsWith(dir, daemon_.root() + "/io.containerd.snapshotter.v1.overlayfs/"))
      << dir;
  WriteFileOrDie(dir + "/hello", "world");

  auto active = client::StatSnapshot(*client_, kDefaultSnapshotter, "layer-1");
  ASSERT_TRUE(active.ok()) << active.status();
  EXPECT_EQ(active->kind(), sapi::ACTIVE);
  EXPECT_EQ(active->labels().at("containerd.io/gc.root"), "now");
  EXPECT_GT(active->created_at().seconds(), 0);
  auto again = client::SnapshotMounts(*client_, kDefaultSnapshotter, "layer-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].source(), dir);

  ASSERT_TRUE(
      client::CommitSnapshot(*client_, kDefaultSnapshotter, "base", "layer-1", {{"team", "core"}})
          .ok());
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, kDefaultSnapshotter, "layer-1"),
                      StatusCode::kNotFound, "snapshot layer-1 does not exist: not found"));
  auto base = client::StatSnapshot(*client_, kDefaultSnapshotter, "base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->kind(), sapi::COMMITTED);
  EXPECT_EQ(base->parent(), "");
  EXPECT_EQ(base->labels().size(), 1u) << "commit does not inherit the active labels";

  // A child is an overlay with the parent as lower layer; a view of one layer is a ro bind.
  mounts = client::PrepareSnapshot(*client_, kDefaultSnapshotter, "child", "base");
  ASSERT_TRUE(mounts.ok()) << mounts.status();
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].type(), "overlay");
  EXPECT_TRUE(absl::StrContains(Options((*mounts)[0]), "lowerdir=")) << Options((*mounts)[0]);
  auto view = client::ViewSnapshot(*client_, kDefaultSnapshotter, "look", "base");
  ASSERT_TRUE(view.ok()) << view.status();
  EXPECT_EQ((*view)[0].type(), "bind");
  EXPECT_EQ(Options((*view)[0]), "ro,rbind");
  EXPECT_EQ(ReadFileOrEmpty((*view)[0].source() + "/hello"), "world");

  EXPECT_EQ(Keys(client::ListSnapshots(*client_, kDefaultSnapshotter)),
            (std::vector<std::string>{"base", "child", "look"}));
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, kDefaultSnapshotter, {"kind==view"})),
            std::vector<std::string>{"look"});
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, kDefaultSnapshotter,
                                       {"parent==base,kind==active", "labels.team==core"})),
            (std::vector<std::string>{"base", "child"}));

  for (const char* key : {"child", "look", "base"}) {
    ASSERT_TRUE(client::RemoveSnapshot(*client_, kDefaultSnapshotter, key).ok()) << key;
  }
  EXPECT_TRUE(Keys(client::ListSnapshots(*client_, kDefaultSnapshotter)).empty());
  EXPECT_FALSE(std::filesystem::exists(dir)) << "the backend snapshot is removed too";

  // Prepare and Commit and Remove publish; View does not (as containerd).
  ASSERT_TRUE(events.WaitForCount(6, absl::Seconds(5)));
  std::vector<std::string> topics;
  for (const auto& e : events.Received()) topics.push_back(e.topic());
  EXPECT_EQ(topics,
            (std::vector<std::string>{"/snapshot/prepare", "/snapshot/commit", "/snapshot/prepare",
                                      "/snapshot/remove", "/snapshot/remove", "/snapshot/remove"}));
  const auto received = events.Received();
  containerd::events::SnapshotPrepare prepare;
  ASSERT_TRUE(prepare.ParseFromString(received[2].event().value()));
  EXPECT_EQ(prepare.key(), "child");
  EXPECT_EQ(prepare.parent(), "base");
  EXPECT_EQ(received[2].namespace_(), ns_);
  EXPECT_EQ(received[2].event().type_url(), "containerd.events.SnapshotPrepare");
  containerd::events::SnapshotCommit commit;
  ASSERT_TRUE(commit.ParseFromString(received[1].event().value()));
  EXPECT_EQ(commit.key(), "layer-1");
  EXPECT_EQ(commit.name(), "base");
  containerd::events::SnapshotRemove remove;
  ASSERT_TRUE(remove.ParseFromString(received[5].event().value()));
  EXPECT_EQ(remove.key(), "base");
}

TEST_F(SnapshotsTest, ErrorsAreContainerds) {
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, "zfs", "x"), StatusCode::kInvalidArgument,
                      "snapshotter not loaded: zfs: invalid argument"));
  EXPECT_TRUE(HasCode(client::ListSnapshots(*client_, ""), StatusCode::kInvalidArgument,
                      "snapshotter argument missing"));
  auto no_ns = daemon_.NewClient("");
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*no_ns, kDefaultSnapshotter, "x"),
                      StatusCode::kFailedPrecondition, "namespace is required"));
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*no_ns, "zfs", "x"), StatusCode::kInvalidArgument,
                      "snapshotter not loaded"))
      << "the snapshotter is checked first";

  const std::string sn = kDefaultSnapshotter;
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, sn, "nope"), StatusCode::kNotFound,
                      "snapshot nope does not exist: not found"));
  EXPECT_TRUE(HasCode(client::RemoveSnapshot(*client_, sn, "nope"), StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(client::GetSnapshotUsage(*client_, sn, "nope"), StatusCode::kNotFound));
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*client_, sn, "a", "nope"), StatusCode::kNotFound,
                      "parent snapshot nope does not exist: not found"));
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "a").ok());
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*client_, sn, "a"), StatusCode::kAlreadyExists,
                      "snapshot \"a\": already exists"));
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*client_, sn, "b", "a"), StatusCode::kInvalidArgument,
                      "is not committed snapshot"));
  ASSERT_TRUE(client::CommitSnapshot(*client_, sn, "c", "a").ok());
  EXPECT_TRUE(HasCode(client::SnapshotMounts(*client_, sn, "c"), StatusCode::kFailedPrecondition));
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "a2", "c").ok());
  EXPECT_TRUE(HasCode(client::CommitSnapshot(*client_, sn, "c", "a2"), StatusCode::kAlreadyExists,
                      "snapshot \"c\": already exists"));
  EXPECT_TRUE(HasCode(client::RemoveSnapshot(*client_, sn, "c"), StatusCode::kFailedPrecondition,
                      "cannot remove snapshot with child"));
  EXPECT_TRUE(HasCode(client::UpdateSnapshotLabels(*client_, sn, "c", {}, {"kind"}),
                      StatusCode::kInvalidArgument,
                      "cannot update \"kind\" field on snapshot \"c\": invalid argument"));
  EXPECT_TRUE(
      HasCode(client::ListSnapshots(*client_, sn, {"name=="}), StatusCode::kInvalidArgument));
  // A view is never committed; the failed commit leaves no name behind.
  ASSERT_TRUE(client::ViewSnapshot(*client_, sn, "v", "c").ok());
  EXPECT_TRUE(HasCode(client::CommitSnapshot(*client_, sn, "from-view", "v"),
                      StatusCode::kFailedPrecondition));
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, sn, "from-view"), StatusCode::kNotFound));
  // The unpacker's "already unpacked" answer.
  EXPECT_TRUE(HasCode(
      client::PrepareSnapshot(*client_, sn, "extract", "", {{"containerd.io/snapshot.ref", "c"}}),
      StatusCode::kAlreadyExists, "target snapshot \"c\": already exists"));
}

TEST_F(SnapshotsTest, LabelsUpdate) {
  const std::string sn = kDefaultSnapshotter;
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "a", "", {{"x", "1"}, {"y", "2"}}).ok());
  auto updated =
      client::UpdateSnapshotLabels(*client_, sn, "a", {{"z", "3"}}, {"labels.z", "labels.x"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(client::Labels(updated->labels().begin(), updated->labels().end()),
            (client::Labels{{"y", "2"}, {"z", "3"}}));
  EXPECT_EQ(updated->kind(), sapi::ACTIVE);
  EXPECT_GE(absl::FromUnixSeconds(updated->updated_at().seconds()),
            absl::FromUnixSeconds(updated->created_at().seconds()));
  updated = client::UpdateSnapshotLabels(*client_, sn, "a", {{"only", "me"}});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels().size(), 1u);
  auto stat = client::StatSnapshot(*client_, sn, "a");
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat->labels().at("only"), "me");
}

TEST_F(SnapshotsTest, NamespacesAreIsolated) {
  auto other = daemon_.NewClient(UniqueName("other"));
  ASSERT_NO_FATAL_FAILURE(Hold(*other));
  const std::string sn = kDefaultSnapshotter;
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "same").ok());
  ASSERT_TRUE(client::PrepareSnapshot(*other, sn, "same").ok()) << "keys are per namespace";
  ASSERT_TRUE(client::PrepareSnapshot(*other, sn, "theirs").ok());
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, sn)), std::vector<std::string>{"same"});
  EXPECT_EQ(Keys(client::ListSnapshots(*other, sn)), (std::vector<std::string>{"same", "theirs"}));
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, sn, "theirs"), StatusCode::kNotFound));
  EXPECT_NE(BindSource(client::SnapshotMounts(*client_, sn, "same")),
            BindSource(client::SnapshotMounts(*other, sn, "same")));

  // A namespace holding snapshots cannot be deleted (containerd's message).
  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, ns_), StatusCode::kFailedPrecondition,
                      "must be empty, but it still has snapshots on \"overlayfs\" snapshotter"));
  ASSERT_TRUE(client::RemoveSnapshot(*client_, sn, "same").ok());
  ASSERT_TRUE(client::DeleteLease(*client_, "test-hold").ok());
  client_->set_lease("");
  EXPECT_TRUE(client::DeleteNamespace(*client_, ns_).ok());
  EXPECT_TRUE(client::StatSnapshot(*other, sn, "same").ok());
}

TEST_F(SnapshotsTest, LeaseHoldsWhatItCreated) {
  auto lease = client::CreateLease(*client_, "snap-lease", {});
  ASSERT_TRUE(lease.ok()) << lease.status();
  client_->set_lease("snap-lease");
  const std::string sn = kDefaultSnapshotter;
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "k").ok());
  ASSERT_TRUE(client::CommitSnapshot(*client_, sn, "n", "k").ok());
  ASSERT_TRUE(client::PrepareSnapshot(*client_, "native", "k2").ok());
  auto resources = client::ListLeaseResources(*client_, "snap-lease");
  ASSERT_TRUE(resources.ok()) << resources.status();
  std::vector<std::string> got;
  for (const auto& r : *resources) got.push_back(absl::StrCat(r.type(), " ", r.id()));
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"snapshots/native k2", "snapshots/overlayfs n"}));

  client_->set_lease("no-such-lease");
  EXPECT_TRUE(HasCode(client::PrepareSnapshot(*client_, sn, "k3"), StatusCode::kNotFound,
                      "lease does not exist"));
  client_->set_lease("test-hold");
  EXPECT_TRUE(HasCode(client::StatSnapshot(*client_, sn, "k3"), StatusCode::kNotFound));
}

TEST_F(SnapshotsTest, UsageOfActiveAndCommitted) {
  const std::string sn = kDefaultSnapshotter;
  auto mounts = client::PrepareSnapshot(*client_, sn, "a");
  const std::string dir = BindSource(mounts);
  ASSERT_FALSE(dir.empty());
  WriteFileOrDie(dir + "/data", std::string(100 * 1024, 'x'));
  auto usage = client::GetSnapshotUsage(*client_, sn, "a");
  ASSERT_TRUE(usage.ok()) << usage.status();
  EXPECT_GE(usage->size, 100 * 1024);
  EXPECT_GE(usage->inodes, 2);
  ASSERT_TRUE(client::CommitSnapshot(*client_, sn, "c", "a").ok());
  auto committed = client::GetSnapshotUsage(*client_, sn, "c");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->size, usage->size);
  EXPECT_EQ(committed->inodes, usage->inodes);
  // A view has nothing of its own.
  ASSERT_TRUE(client::ViewSnapshot(*client_, sn, "v", "c").ok());
  EXPECT_EQ(client::GetSnapshotUsage(*client_, sn, "v")->size, 0);
}

TEST_F(SnapshotsTest, NativeSnapshotterCopiesTheParent) {
  auto mounts = client::PrepareSnapshot(*client_, "native", "a");
  const std::string dir = BindSource(mounts);
  ASSERT_FALSE(dir.empty());
  EXPECT_TRUE(absl::StartsWith(dir, daemon_.root() + "/io.containerd.snapshotter.v1.native/"));
  WriteFileOrDie(dir + "/f", "native");
  ASSERT_TRUE(client::CommitSnapshot(*client_, "native", "base", "a").ok());
  const std::string child = BindSource(client::PrepareSnapshot(*client_, "native", "b", "base"));
  ASSERT_FALSE(child.empty());
  EXPECT_EQ(ReadFileOrEmpty(child + "/f"), "native");
  WriteFileOrDie(child + "/f", "changed");
  const std::string view = BindSource(client::ViewSnapshot(*client_, "native", "v", "base"));
  EXPECT_EQ(ReadFileOrEmpty(view + "/f"), "native") << "the child's copy is its own";
  // Snapshotters are separate key spaces.
  EXPECT_TRUE(
      HasCode(client::StatSnapshot(*client_, kDefaultSnapshotter, "base"), StatusCode::kNotFound));
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, "native")),
            (std::vector<std::string>{"b", "base", "v"}));
}

TEST_F(SnapshotsTest, ListStreamsBlocksOfHundred) {
  for (int i = 0; i < 230; ++i) {
    ASSERT_TRUE(client::PrepareSnapshot(*client_, "native", absl::StrCat("k", 1000 + i)).ok());
  }
  sapi::ListSnapshotsRequest req;
  req.set_snapshotter("native");
  auto ctx = client_->NewStreamContext();
  auto reader = client_->snapshots().List(ctx.get(), req);
  std::vector<int> blocks;
  std::vector<std::string> keys;
  sapi::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) {
    blocks.push_back(resp.info_size());
    for (const auto& i : resp.info()) keys.push_back(i.name());
  }
  ASSERT_TRUE(reader->Finish().ok());
  EXPECT_EQ(blocks, (std::vector<int>{100, 100, 30}));
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.size(), 230u);
}

TEST_F(SnapshotsTest, SurviveARestart) {
  const std::string sn = kDefaultSnapshotter;
  const std::string dir = BindSource(client::PrepareSnapshot(*client_, sn, "a"));
  ASSERT_FALSE(dir.empty());
  WriteFileOrDie(dir + "/kept", "yes");
  ASSERT_TRUE(client::CommitSnapshot(*client_, sn, "base", "a", {{"l", "v"}}).ok());
  ASSERT_TRUE(client::PrepareSnapshot(*client_, sn, "work", "base").ok());
  auto before = client::SnapshotMounts(*client_, sn, "work");
  ASSERT_TRUE(before.ok());
  ASSERT_NO_FATAL_FAILURE(Restart());
  client_->set_lease("test-hold");
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, sn)), (std::vector<std::string>{"base", "work"}));
  auto after = client::SnapshotMounts(*client_, sn, "work");
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  EXPECT_TRUE(SameMessage((*before)[0], (*after)[0]));
  EXPECT_EQ(client::StatSnapshot(*client_, sn, "base")->labels().at("l"), "v");
  EXPECT_TRUE(client::CleanupSnapshots(*client_, sn).ok());
  EXPECT_EQ(Keys(client::ListSnapshots(*client_, sn)), (std::vector<std::string>{"base", "work"}));
}

TEST_F(SnapshotsTest, IntrospectionListsThePlugins) {
  auto ctx = client_->NewContext();
  containerd::services::introspection::v1::PluginsRequest req;
  containerd::services::introspection::v1::PluginsResponse resp;
  ASSERT_TRUE(client_->introspection().Plugins(ctx.get(), req, &resp).ok());
  std::vector<std::string> found;
  for (const auto& p : resp.plugins()) {
    if (absl::StrContains(p.type(), "snapshot") || p.id() == "snapshots" ||
        p.id() == "snapshots-service") {
      EXPECT_FALSE(p.has_init_err()) << p.DebugString();
      found.push_back(absl::StrCat(p.type(), "/", p.id()));
    }
  }
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found,
            (std::vector<std::string>{
                "io.containerd.grpc.v1/snapshots", "io.containerd.service.v1/snapshots-service",
                "io.containerd.snapshotter.v1/native", "io.containerd.snapshotter.v1/overlayfs"}));
}

}  // namespace
}  // namespace berth::test
