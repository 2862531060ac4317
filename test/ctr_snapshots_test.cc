// `ctr snapshots ...` (the real containerd 1.6 client) against berthd: preparing, mounting for
// real what `ctr snapshots mounts` prints, committing, listing, labelling, diffing into a layer
// and removing, with the overlayfs and the native snapshotter.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "client/snapshots.h"
#include "content/digester.h"
#include "nlohmann/json.hpp"
#include "test/ctr_fixture.h"

namespace berth::test {
namespace {

// ctr's sizes (go-units' HumanSize): four significant digits, decimal units.
std::string HumanSize(size_t bytes) {
  const char* const units[] = {"B", "kB", "MB", "GB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  for (; size >= 1000 && unit + 1 < std::size(units); ++unit) size /= 1000;
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.4g%s", size, units[unit]);
  return buf;
}

class CtrSnapshotsTest : public CtrTest {
 protected:
  // Runs the `mount -t TYPE SOURCE TARGET -o OPTIONS` line ctr printed (one mount).
  ::testing::AssertionResult RunMountLine(const std::string& line) {
    std::vector<std::string> argv = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (argv.size() != 7 || argv[0] != "mount" || argv[1] != "-t" || argv[5] != "-o") {
      return ::testing::AssertionFailure() << "unexpected mount line: " << line;
    }
    argv[0] = "/usr/bin/mount";
    CommandResult r = RunCommand(argv);
    if (r.exit_code != 0) return ::testing::AssertionFailure() << line << "\n" << r.Describe();
    mounted_.push_back(argv[4]);
    return ::testing::AssertionSuccess();
  }
  ::testing::AssertionResult Unmount(const std::string& target) {
    CommandResult r = RunCommand({"/usr/bin/umount", target});
    if (r.exit_code != 0) return ::testing::AssertionFailure() << r.Describe();
    mounted_.erase(std::remove(mounted_.begin(), mounted_.end(), target), mounted_.end());
    return ::testing::AssertionSuccess();
  }
  void TearDown() override {
    for (const std::string& target : mounted_) UnmountBelow(target);
    CtrTest::TearDown();
  }

  TempDir mnt_{"berth-snapsvc-mnt"};
  std::vector<std::string> mounted_;
};

TEST_F(CtrSnapshotsTest, PrepareMountCommitListTreeInfoLabelRemove) {
  const std::string target = mnt_.Sub("rootfs");
  ASSERT_EQ(RunCommand({"/usr/bin/mkdir", target}).exit_code, 0);

  // A first layer: prepare, mount what ctr prints, write, unmount, commit.
  CommandResult r = Ctr({"snapshots", "prepare", "layer-1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "");
  r = Ctr({"snapshots", "mounts", target, "layer-1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "mount -t bind " + daemon_.root() +
                                             "/io.containerd.snapshotter.v1.overlayfs/snapshots/"))
      << lines[0];
  EXPECT_TRUE(absl::EndsWith(lines[0], " " + target + " -o rw,rbind")) << lines[0];
  ASSERT_TRUE(RunMountLine(lines[0]));
  WriteFileOrDie(target + "/from-layer-1", "one");
  ASSERT_TRUE(Unmount(target));
  r = Ctr({"snapshots", "commit", "base", "layer-1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  // A second layer on it: overlayfs shows the first layer's file through the mount.
  ASSERT_EQ(Ctr({"snapshots", "prepare", "layer-2", "base"}).exit_code, 0);
  r = Ctr({"snapshots", "mounts", target, "layer-2"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(lines[0], "mount -t overlay overlay " + target + " -o "))
      << lines[0];
  EXPECT_TRUE(absl::StrContains(lines[0], "lowerdir=")) << lines[0];
  ASSERT_TRUE(RunMountLine(lines[0]));
  EXPECT_EQ(ReadFileOrEmpty(target + "/from-layer-1"), "one");
  WriteFileOrDie(target + "/from-layer-2", "two");
  ASSERT_TRUE(Unmount(target));
  ASSERT_EQ(Ctr({"snapshots", "commit", "top", "layer-2"}).exit_code, 0);

  // A read-only view of the whole chain, mounted by `ctr snapshots view --target`'s line.
  r = Ctr({"snapshots", "view", "--target", target, "look", "top"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  ASSERT_TRUE(RunMountLine(lines[0]));
  EXPECT_EQ(ReadFileOrEmpty(target + "/from-layer-1"), "one");
  EXPECT_EQ(ReadFileOrEmpty(target + "/from-layer-2"), "two");
  EXPECT_NE(RunCommand({"/usr/bin/touch", target + "/nope"}).exit_code, 0) << "read-only";
  ASSERT_TRUE(Unmount(target));

  r = Ctr({"snapshots", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0], "KEY  PARENT KIND");
  EXPECT_EQ(*Row(r.out, "base"), (std::vector<std::string>{"base", "Committed"}));
  EXPECT_EQ(*Row(r.out, "top"), (std::vector<std::string>{"top", "base", "Committed"}));
  EXPECT_EQ(*Row(r.out, "look"), (std::vector<std::string>{"look", "top", "View"}));

  r = Ctr({"snapshots", "tree"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, " base\n  \\_ top\n    \\_ look\n");

  r = Ctr({"snapshots", "usage", "-b", "top", "look"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto top_usage = Row(r.out, "top");
  ASSERT_TRUE(top_usage.has_value()) << r.out;
  EXPECT_GE(std::stoll((*top_usage)[1]), 3) << "from-layer-2's bytes at least";
  EXPECT_GE(std::stoll((*top_usage)[2]), 2);
  EXPECT_EQ(*Row(r.out, "look"), (std::vector<std::string>{"look", "0", "0"}));
  r = Ctr({"snapshots", "usage"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, "KEY ")) << r.out;
  EXPECT_TRUE(Row(r.out, "base").has_value()) << r.out;
  EXPECT_EQ((*Row(r.out, "base"))[2], "KiB") << "human sizes: " << r.out;

  r = Ctr({"snapshots", "info", "top"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  nlohmann::json info = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(info.is_discarded()) << r.out;
  EXPECT_EQ(info["Kind"], "Committed");
  EXPECT_EQ(info["Name"], "top");
  EXPECT_EQ(info["Parent"], "base");
  EXPECT_TRUE(info["Labels"].contains("containerd.io/gc.root")) << r.out << " (ctr commit adds it)";

  r = Ctr({"snapshots", "label", "top", "team=core"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> labels = absl::StrSplit(Lines(r.out).at(0), ',');
  std::sort(labels.begin(), labels.end());
  ASSERT_EQ(labels.size(), 2u) << r.out;
  EXPECT_TRUE(absl::StartsWith(labels[0], "containerd.io/gc.root="));
  EXPECT_EQ(labels[1], "team=core");
  r = Ctr({"snapshots", "label", "top", "team="});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(absl::StrContains(r.out, "team")) << r.out;

  r = Ctr({"snapshots", "rm", "base"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err,
                                "failed to remove \"base\": cannot remove snapshot with "
                                "child: failed precondition"))
      << r.Describe();
  r = Ctr({"snapshots", "rm", "look", "top", "base"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Lines(Ctr({"snapshots", "ls"}).out).size(), 1u) << "only the header";
  r = Ctr({"snapshots", "rm", "base"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "snapshot base does not exist: not found")) << r.Describe();
}

// `ctr snapshots diff KEY` on an active snapshot over an imported image's top layer: the layer it
// prints is the one committed to the content store (digest, size, labels) and holds exactly the
// changes made through the snapshot's mounts, whiteout included.
TEST_F(CtrSnapshotsTest, DiffOfAnActiveSnapshotIsALayerOfItsChanges) {
  CommandResult r = Ctr({"images", "import", TestImage("busybox-docker.tar")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // The image's top chain: the committed snapshot that is no other one's parent.
  r = Ctr({"snapshots", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::set<std::string> committed, parents;
  for (const std::string& line : Lines(r.out)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() == 3) parents.insert(f[1]);
    if (!f.empty() && f.back() == "Committed") committed.insert(f[0]);
  }
  std::vector<std::string> tops;
  std::set_difference(committed.begin(), committed.end(), parents.begin(), parents.end(),
                      std::back_inserter(tops));
  ASSERT_EQ(tops.size(), 1u) << r.out;
  const std::string chain = tops[0];

  // Change the image's files through the active snapshot's overlay mount.
  const std::string target = mnt_.Sub("rootfs");
  ASSERT_EQ(RunCommand({"/usr/bin/mkdir", target}).exit_code, 0);
  r = Ctr({"snapshots", "prepare", "--target", target, "work", chain});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_EQ(Lines(r.out).size(), 1u) << r.out;
  ASSERT_TRUE(RunMountLine(Lines(r.out)[0]));
  ASSERT_FALSE(ReadFileOrEmpty(target + "/etc/group").empty()) << "the image's file";
  WriteFileOrDie(target + "/added.txt", "added through the mount\n");
  WriteFileOrDie(target + "/etc/passwd", "root:x:0:0:changed:/root:/bin/sh\n");
  ASSERT_EQ(RunCommand({"/usr/bin/rm", target + "/etc/group"}).exit_code, 0);
  ASSERT_EQ(RunCommand({"/usr/bin/mkdir", target + "/newdir"}).exit_code, 0);
  WriteFileOrDie(target + "/newdir/inner", "inner");
  ASSERT_TRUE(Unmount(target));

  // --keep roots the layer (gc.root) so it outlives ctr's lease; stdout is the layer itself.
  r = Ctr({"snapshots", "diff", "--keep", "--label", "team=core", "work"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string layer = r.out;
  ASSERT_GE(layer.size(), 2u);
  EXPECT_EQ(layer.substr(0, 2), "\x1f\x8b") << "gzip, ctr's default media type";
  const std::string digest = content::Digester::FromBytes(layer).str();

  // The same bytes are in the content store under that digest, with ctr's and the differ's
  // labels.
  r = Ctr({"content", "get", digest});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(r.out == layer) << "content get returns other bytes than diff printed";
  const std::string tgz = mnt_.Sub("layer.tar.gz");
  WriteFileOrDie(tgz, layer);
  r = RunCommand({"/bin/sh", "-c", "gzip -dc " + tgz + " | sha256sum"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string diff_id = "sha256:" + r.out.substr(0, 64);
  r = Ctr({"content", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, digest);
  ASSERT_TRUE(row.has_value()) << digest << " not listed:\n" << r.out;
  EXPECT_EQ((*row)[1], HumanSize(layer.size())) << r.out;
  std::vector<std::string> labels = absl::StrSplit(row->back(), ',');
  std::sort(labels.begin(), labels.end());
  ASSERT_EQ(labels.size(), 3u) << row->back();
  EXPECT_TRUE(absl::StartsWith(labels[0], "containerd.io/gc.root=")) << labels[0];
  EXPECT_EQ(labels[1], "containerd.io/uncompressed=" + diff_id);
  EXPECT_EQ(labels[2], "team=core");

  // The tar: the added files with their content, the changed one, a whiteout for the removed
  // one, and the directories that hold them; nothing else of the image.
  r = RunCommand({"/usr/bin/tar", "-tzf", tgz});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> names = Lines(r.out);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"added.txt", "etc/", "etc/.wh.group", "etc/passwd",
                                             "newdir/", "newdir/inner"}))
      << r.out;
  r = RunCommand({"/usr/bin/tar", "-xzOf", tgz, "added.txt"});
  EXPECT_EQ(r.out, "added through the mount\n") << r.Describe();
  r = RunCommand({"/usr/bin/tar", "-xzOf", tgz, "etc/passwd"});
  EXPECT_EQ(r.out, "root:x:0:0:changed:/root:/bin/sh\n") << r.Describe();
  r = RunCommand({"/usr/bin/tar", "-xzOf", tgz, "newdir/inner"});
  EXPECT_EQ(r.out, "inner") << r.Describe();
  r = RunCommand({"/usr/bin/tar", "-tvzf", tgz, "etc/.wh.group"});
  EXPECT_TRUE(absl::StartsWith(r.out, "-")) << "a whiteout is an empty regular file: " << r.out;

  // The uncompressed media type gives the tar whose digest the label names, and the two-snapshot
  // form (lower, upper) over the committed snapshot gives the same layer again.
  r = Ctr({"snapshots", "diff", "--media-type", "application/vnd.oci.image.layer.v1.tar", "work"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(content::Digester::FromBytes(r.out).str(), diff_id);
  ASSERT_EQ(Ctr({"snapshots", "commit", "work-layer", "work"}).exit_code, 0);
  r = Ctr({"snapshots", "diff", "--media-type", "application/vnd.oci.image.layer.v1.tar", chain,
           "work-layer"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(content::Digester::FromBytes(r.out).str(), diff_id);

  // ctr removed its temporary views: only the image's chain and the new layer are left.
  r = Ctr({"snapshots", "ls"});
  EXPECT_EQ(Lines(r.out).size(), committed.size() + 2) << r.out;
}

TEST_F(CtrSnapshotsTest, NativeSnapshotterIsSelectedWithTheFlag) {
  const std::string target = mnt_.Sub("rootfs");
  ASSERT_EQ(RunCommand({"/usr/bin/mkdir", target}).exit_code, 0);
  CommandResult r =
      Ctr({"snapshots", "--snapshotter", "native", "prepare", "--target", target, "n1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "mount -t bind " + daemon_.root() +
                                             "/io.containerd.snapshotter.v1.native/snapshots/"))
      << lines[0];
  ASSERT_TRUE(RunMountLine(lines[0]));
  WriteFileOrDie(target + "/native-file", "n");
  ASSERT_TRUE(Unmount(target));
  ASSERT_EQ(Ctr({"snapshots", "--snapshotter", "native", "commit", "n-base", "n1"}).exit_code, 0);
  ASSERT_EQ(Ctr({"snapshots", "--snapshotter", "native", "prepare", "n2", "n-base"}).exit_code, 0);

  r = Ctr({"snapshots", "--snapshotter", "native", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(*Row(r.out, "n2"), (std::vector<std::string>{"n2", "n-base", "Active"}));
  EXPECT_EQ(Lines(Ctr({"snapshots", "ls"}).out).size(), 1u) << "overlayfs has none";
  r = Ctr({"snapshots", "--snapshotter", "native", "mounts", target, "n2"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ASSERT_TRUE(RunMountLine(Lines(r.out).at(0)));
  EXPECT_EQ(ReadFileOrEmpty(target + "/native-file"), "n") << "a copy of the parent";
  ASSERT_TRUE(Unmount(target));

  r = Ctr({"snapshots", "--snapshotter", "zfs", "ls"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "snapshotter not loaded: zfs")) << r.Describe();
}

TEST_F(CtrSnapshotsTest, NamespaceWithSnapshotsCannotBeRemoved) {
  ASSERT_EQ(Ctr({"snapshots", "prepare", "keep"}).exit_code, 0);
  CommandResult r = Ctr({"namespaces", "rm", ns_});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err,
                                "must be empty, but it still has snapshots on "
                                "\"overlayfs\" snapshotter"))
      << r.Describe();
  ASSERT_EQ(Ctr({"snapshots", "rm", "keep"}).exit_code, 0);
  r = Ctr({"namespaces", "rm", ns_});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

}  // namespace
}  // namespace berth::test
