// `ctr images ...` (the real containerd 1.6 client) against berthd: import of docker and OCI
// archives (which also unpacks into overlayfs through the Snapshots and Diff services), ls,
// check, export, rm, and the exported archive imported by a real containerd.

#include <gtest/gtest.h>

#include <filesystem>

#include <sys/stat.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sys/file.h"
#include "test/ctr_fixture.h"

namespace berth::test {
namespace {

class CtrImagesTest : public CtrTest {
 protected:
  CommandResult Import(const std::string& archive) {
    return Ctr({"images", "import", archive});
  }
};

TEST_F(CtrImagesTest, ImportDockerArchiveUnpacksAndChecks) {
  CommandResult r = Import(TestImage("busybox-docker.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = Ctr({"images", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, "berth.test/busybox:latest");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[1], "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_TRUE(absl::StrContains(r.out, "linux/amd64")) << r.out;

  r = Ctr({"images", "check"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  row = Row(r.out, "berth.test/busybox:latest");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[3], "complete") << r.out;

  // Unpacked: the top layer's chain id is a committed overlayfs snapshot.
  r = Ctr({"snapshots", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 2u) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "Committed")) << r.out;
}

TEST_F(CtrImagesTest, ImportOciArchiveWithWhiteoutsGivesTheExpectedRootfs) {
  CommandResult r = Import(TestImage("layers-oci.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = Ctr({"images", "check"});
  auto row = Row(r.out, "berth.test/layers:latest");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[3], "complete") << r.out;

  // Mount the unpacked image and check it against the image's /expected.txt, path by path.
  TempDir mnt("berth-mnt");
  const std::string root = mnt.Sub("root");
  std::filesystem::create_directories(root);
  r = Ctr({"images", "mount", "berth.test/layers:latest", root});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto text = [&](const std::string& p) {
    auto s = sys::ReadFile(root + p);
    return s.ok() ? *s : std::string("<absent>");
  };
  auto exists = [&](const std::string& p) {
    struct stat st;
    return lstat((root + p).c_str(), &st) == 0;
  };
  auto link = [&](const std::string& p) {
    std::error_code ec;
    return std::filesystem::read_symlink(root + p, ec).string();
  };
  EXPECT_EQ(text("/data/keep.txt"), "keep\n");
  EXPECT_FALSE(exists("/data/remove-me.txt"));
  EXPECT_EQ(text("/data/sub/file.txt"), "sub\n");
  EXPECT_EQ(text("/data/linked.txt"), "linked\n");
  struct stat a, b;
  ASSERT_EQ(lstat((root + "/data/linked.txt").c_str(), &a), 0);
  ASSERT_EQ(lstat((root + "/data/hardlink.txt").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link lost";
  EXPECT_EQ(link("/data/rel-link"), "keep.txt");
  EXPECT_EQ(link("/abs-link"), "/bin/busybox");
  EXPECT_EQ(link("/dir-link"), "data/sub");
  EXPECT_FALSE(exists("/gone"));
  EXPECT_EQ(text("/opaque/new1.txt"), "new1\n");
  EXPECT_FALSE(exists("/opaque/old1.txt"));
  EXPECT_FALSE(exists("/opaque/nested"));
  struct stat m;
  ASSERT_EQ(lstat((root + "/mode.sh").c_str(), &m), 0);
  EXPECT_EQ(m.st_mode & 07777, 0755u);
  EXPECT_EQ(text("/recreate.txt"), "v3\n");
  EXPECT_TRUE(exists("/bin/busybox"));
  r = Ctr({"images", "unmount", root});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  RunCommand({"/bin/umount", root});  // in case ctr left it mounted after a failure
}

TEST_F(CtrImagesTest, ExportImportsIntoRealContainerd) {
  ASSERT_EQ(Import(TestImage("busybox-oci.tar")).exit_code, 0);
  TempDir out("berth-export");
  const std::string archive = out.Sub("exported.tar");
  CommandResult r = Ctr({"images", "export", archive, "berth.test/busybox:latest"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  // A real containerd on isolated paths imports what berthd exported.
  const std::string ctd = out.Sub("ctd");
  r = RunCommand({"/bin/bash", absl::StrCat(kSourceDir, "/test/tools/start-containerd.sh"), ctd},
                 absl::Seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  CommandResult imported = RunCommand({kCtrPath, "-a", ctd + "/containerd.sock", "-n", "berth",
                                       "images", "import", archive},
                                      absl::Seconds(60));
  CommandResult check = RunCommand(
      {kCtrPath, "-a", ctd + "/containerd.sock", "-n", "berth", "images", "check"});
  RunCommand({"/bin/bash", absl::StrCat(kSourceDir, "/test/tools/stop-containerd.sh"), ctd},
             absl::Seconds(30));
  ASSERT_EQ(imported.exit_code, 0) << imported.Describe();
  auto row = Row(check.out, "berth.test/busybox:latest");
  ASSERT_TRUE(row.has_value()) << check.Describe();
  EXPECT_EQ((*row)[3], "complete");
}

TEST_F(CtrImagesTest, RemoveThenGarbageCollectionEmptiesTheStores) {
  ASSERT_EQ(Import(TestImage("layers-docker.tar")).exit_code, 0);
  ASSERT_FALSE(Lines(Ctr({"content", "ls", "-q"}).out).empty());
  CommandResult r = Ctr({"images", "rm", "--sync", "berth.test/layers:latest"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(Lines(Ctr({"images", "ls", "-q"}).out).empty());
  // ctr's import lease expires in 24h; deleting it lets GC take everything.
  for (const std::string& line : Lines(Ctr({"leases", "ls", "-q"}).out)) {
    Ctr({"leases", "rm", "--sync", line});
  }
  EXPECT_TRUE(Lines(Ctr({"content", "ls", "-q"}).out).empty()) << Ctr({"content", "ls"}).out;
  std::vector<std::string> snaps = Lines(Ctr({"snapshots", "ls"}).out);
  EXPECT_LE(snaps.size(), 1u) << "only the header should remain";
  // And the snapshotter itself holds no layer directories any more.
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(
      daemon_.root() + "/io.containerd.snapshotter.v1.overlayfs/snapshots", ec))
      << "layer directories left in the snapshotter after GC";
  EXPECT_TRUE(std::filesystem::is_empty(
      daemon_.root() + "/io.containerd.content.v1.content/blobs/sha256", ec))
      << "blobs left on disk after GC";
}

TEST_F(CtrImagesTest, DaemonKilledDuringImportLosesNothingAndGcReclaimsTheRest) {
  // A bigger image (busybox + 5 x 20 MiB layers) so that the kill lands mid-import.
  TempDir big("berth-big");
  CommandResult r = RunCommand(
      {"/bin/bash", absl::StrCat(kSourceDir, "/scripts/make-test-images.sh"), "--big", big.path()},
      absl::Seconds(180));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto importer = Process::Spawn({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "images", "import",
                                  big.Sub("big-oci.tar")},
                                 big.Sub("ctr.out"), big.Sub("ctr.err"));
  ASSERT_TRUE(importer.ok()) << importer.status();
  // Wait until some content has arrived, then kill berthd without warning.
  const std::string blobs = daemon_.root() + "/io.containerd.content.v1.content/blobs/sha256";
  for (int i = 0; i < 200; ++i) {
    std::error_code ec;
    if (std::filesystem::exists(blobs, ec) && !std::filesystem::is_empty(blobs, ec)) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(daemon_.Kill(SIGKILL));
  (*importer)->Wait(absl::Seconds(30));
  ASSERT_TRUE(daemon_.Restart());

  // Every blob the restarted daemon shows is whole: its bytes hash to its digest.
  std::vector<std::string> digests = Lines(Ctr({"content", "ls", "-q"}).out);
  for (const std::string& d : digests) {
    CommandResult get = RunCommand({"/bin/sh", "-c",
                                    absl::StrCat(kCtrPath, " -a ", daemon_.socket(), " -n ", ns_,
                                                 " content get ", d, " | sha256sum")});
    ASSERT_EQ(get.exit_code, 0) << get.Describe();
    EXPECT_EQ("sha256:" + get.out.substr(0, 64), d) << "corrupt blob visible after kill -9";
  }
  // Importing again completes (ingests left behind are resumed or replaced).
  r = Import(big.Sub("big-oci.tar"));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = Ctr({"images", "check"});
  auto row = Row(r.out, "berth.test/big:latest");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[3], "complete");
  // And once the image and the import leases are gone, GC reclaims everything on disk.
  ASSERT_EQ(Ctr({"images", "rm", "--sync", "berth.test/big:latest"}).exit_code, 0);
  for (const std::string& line : Lines(Ctr({"leases", "ls", "-q"}).out)) {
    Ctr({"leases", "rm", "--sync", line});
  }
  EXPECT_TRUE(Lines(Ctr({"content", "ls", "-q"}).out).empty());
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(blobs, ec)) << "blobs left on disk after GC";
}

}  // namespace
}  // namespace berth::test
