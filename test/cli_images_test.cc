// The berth CLI's image nouns against a real berthd: `berth images import|ls|check|export|rm`,
// `berth content`, `berth snapshots` and `berth prune`, as a shell user sees them, plus checks
// that what berth writes is what containerd's own client writes (snapshot names, labels) so
// that ctr and berth share images.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/containers.h"
#include "client/content.h"
#include "client/images.h"
#include "client/leases.h"
#include "client/remote_content.h"
#include "client/snapshots.h"
#include "images/walk.h"
#include "sys/file.h"
#include "test/ctr_fixture.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

inline constexpr char kBerthPath[] = BERTH_CLI_PATH;
constexpr char kBusybox[] = "berth.test/busybox:latest";
constexpr char kLayers[] = "berth.test/layers:latest";

class CliImagesTest : public DaemonTest {
 protected:
  CommandResult Berth(std::vector<std::string> args, const std::string& ns = "",
                      absl::string_view stdin_data = "") {
    std::vector<std::string> argv = {kBerthPath, "--address", daemon_.socket(), "-n",
                                     ns.empty() ? ns_ : ns};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(60), stdin_data);
  }

  // The chain IDs of `name`'s layers for the host, bottom first, from the daemon's content.
  std::vector<std::string> ChainIds(const std::string& name) {
    std::vector<std::string> out;
    auto image = client::GetImage(*client_, name);
    EXPECT_TRUE(image.ok()) << image.status();
    if (!image.ok()) return out;
    client::RemoteContentStore cs(*client_);
    auto target = client::DescriptorFromProto(image->target());
    auto m = images::ResolveManifest(cs, *target, images::Matcher::Default());
    EXPECT_TRUE(m.ok()) << m.status();
    if (!m.ok()) return out;
    auto config = images::ReadConfig(cs, m->manifest.config);
    EXPECT_TRUE(config.ok()) << config.status();
    if (!config.ok()) return out;
    for (const auto& d : images::ChainIds(config->diff_ids)) out.push_back(d.str());
    return out;
  }
};

TEST_F(CliImagesTest, ImportDockerArchiveListsChecksAndUnpacks) {
  CommandResult r = Berth({"images", "import", TestImage("busybox-docker.tar")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, absl::StrCat("unpacking ", kBusybox, " (sha256:"))) << r.out;
  EXPECT_TRUE(absl::EndsWith(r.out, "...done\n")) << r.out;
  EXPECT_EQ(r.err, "") << "no progress bar when stderr is not a terminal";

  r = Berth({"images", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, kBusybox);
  ASSERT_TRUE(row.has_value()) << r.out;
  // NAME DIGEST SIZE(two fields: "2.0 MiB") PLATFORMS
  ASSERT_EQ(row->size(), 5u) << r.out;
  EXPECT_TRUE(absl::StartsWith((*row)[1], "sha256:")) << r.out;
  EXPECT_TRUE((*row)[3] == "MiB" || (*row)[3] == "KiB") << r.out;
  EXPECT_TRUE(absl::StartsWith((*row)[4], "linux/")) << r.out;
  EXPECT_EQ(Berth({"images", "ls", "-q"}).out, absl::StrCat(kBusybox, "\n"));
  EXPECT_EQ(Berth({"images", "ls", "-q", "name~=nothing"}).out, "") << "filters reach the daemon";

  r = Berth({"images", "check"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "complete (2/2)")) << r.out;
  row = Row(r.out, kBusybox);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ(row->back(), "true") << "unpacked\n" << r.out;

  // The snapshot is named by the chain ID, as containerd names it, and the image's config
  // holds it against garbage collection.
  std::vector<std::string> chain = ChainIds(kBusybox);
  ASSERT_EQ(chain.size(), 1u);
  r = Berth({"snapshots", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  row = Row(r.out, chain[0]);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ(row->back(), "Committed") << r.out;
  auto image = client::GetImage(*client_, kBusybox);
  ASSERT_TRUE(image.ok());
  client::RemoteContentStore cs(*client_);
  auto m = images::ResolveManifest(cs, *client::DescriptorFromProto(image->target()),
                                   images::Matcher::Default());
  ASSERT_TRUE(m.ok()) << m.status();
  auto config = client::GetContentInfo(*client_, m->manifest.config.digest.str());
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->labels().at("containerd.io/gc.ref.snapshot.overlayfs"), chain[0]);
  auto layer = client::GetContentInfo(*client_, m->manifest.layers[0].digest.str());
  ASSERT_TRUE(layer.ok()) << layer.status();
  EXPECT_EQ(layer->labels().at("containerd.io/uncompressed"), chain[0]) << "one layer: diff_id";
  EXPECT_TRUE(client::ListLeases(*client_)->empty()) << "the import's lease is gone";

  r = Berth({"snapshots", "usage"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  row = Row(r.out, chain[0]);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_TRUE((*row)[2] == "MiB" || (*row)[2] == "KiB") << r.out;
  r = Berth({"snapshots", "usage", "-b", chain[0]});
  row = Row(r.out, chain[0]);
  ASSERT_TRUE(row.has_value()) << r.Describe();
  EXPECT_GT(std::stoll((*row)[1]), 500 * 1024) << "busybox is more than 500 KiB";
}

TEST_F(CliImagesTest, ImportOciLayersStacksChainAndCtrSeesIt) {
  CommandResult r = Berth({"images", "import", TestImage("layers-oci.tar")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> chain = ChainIds(kLayers);
  ASSERT_EQ(chain.size(), 4u);

  // The tree has one branch: each chain ID on its parent.
  r = Berth({"snapshots", "tree"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string want = absl::StrCat(" ", chain[0], "\n");
  for (size_t i = 1; i < chain.size(); ++i) {
    absl::StrAppend(&want, std::string(2 * i, ' '), "\\_ ", chain[i], "\n");
  }
  EXPECT_EQ(r.out, want);

  // containerd's client agrees the image is unpacked, and mounting it (which unpacks nothing
  // more) shows the merged layers.
  CommandResult check =
      RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "images", "check"});
  auto row = Row(check.out, kLayers);
  ASSERT_TRUE(row.has_value()) << check.Describe();
  EXPECT_EQ(row->back(), "true") << check.out;
  TempDir mnt("berth-cli-mnt");
  const std::string root = mnt.Sub("root");
  std::filesystem::create_directories(root);
  r = RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "images", "mount", kLayers, root});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto text = [&](const std::string& p) {
    auto s = sys::ReadFile(root + p);
    return s.ok() ? *s : std::string("<absent>");
  };
  EXPECT_EQ(text("/data/keep.txt"), "keep\n");
  EXPECT_EQ(text("/data/remove-me.txt"), "<absent>");
  EXPECT_EQ(text("/opaque/new1.txt"), "new1\n");
  EXPECT_EQ(text("/opaque/old1.txt"), "<absent>");
  EXPECT_EQ(text("/recreate.txt"), "v3\n");
  RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_, "images", "unmount", root});
  RunCommand({"/bin/umount", root});  // in case ctr left it mounted after a failure
}

TEST_F(CliImagesTest, ExportedArchiveImportsIntoAnotherNamespaceAndIntoCtr) {
  ASSERT_EQ(Berth({"images", "import", TestImage("busybox-docker.tar")}).exit_code, 0);
  ASSERT_EQ(Berth({"images", "import", TestImage("layers-oci.tar")}).exit_code, 0);
  TempDir out("berth-cli-export");
  const std::string archive = out.Sub("both.tar");
  CommandResult r = Berth({"images", "export", archive, kBusybox, kLayers});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  struct stat st;
  ASSERT_EQ(stat(archive.c_str(), &st), 0);
  EXPECT_GT(st.st_size, 1 << 20);
  EXPECT_EQ(std::filesystem::directory_iterator(out.path())->path(), archive)
      << "no temporary file left beside the archive";

  const std::string other = ns_ + "-copy";
  r = Berth({"images", "import", archive}, other);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  CommandResult here = Berth({"images", "ls"});
  CommandResult there = Berth({"images", "ls"}, other);
  EXPECT_EQ(there.out, here.out) << "same names, digests, sizes and platforms";
  r = Berth({"images", "check", "-q"}, other);
  EXPECT_EQ(r.out, absl::StrCat(kBusybox, "\n", kLayers, "\n")) << r.Describe();

  // The real ctr imports what berth exported.
  r = RunCommand({kCtrPath, "-a", daemon_.socket(), "-n", ns_ + "-ctr", "images", "import",
                  "--no-unpack", archive});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();

  // Missing images are reported before anything is written.
  r = Berth({"images", "export", out.Sub("none.tar"), "missing:latest"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "berth: image \"missing:latest\": not found\n");
  EXPECT_NE(stat(out.Sub("none.tar").c_str(), &st), 0);
}

TEST_F(CliImagesTest, RemoveSyncCollectsContentAndSnapshots) {
  ASSERT_EQ(Berth({"images", "import", TestImage("busybox-oci.tar")}).exit_code, 0);
  ASSERT_EQ(Berth({"images", "import", TestImage("layers-docker.tar")}).exit_code, 0);
  ASSERT_NE(Berth({"content", "ls", "-q"}).out, "");
  ASSERT_NE(Berth({"snapshots", "ls", "-q"}).out, "");

  CommandResult r = Berth({"images", "rm", "--sync", kBusybox, kLayers});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, absl::StrCat(kBusybox, "\n", kLayers, "\n"));
  EXPECT_EQ(Berth({"images", "ls", "-q"}).out, "");
  EXPECT_EQ(Berth({"content", "ls", "-q"}).out, "") << "garbage collected";
  EXPECT_EQ(Berth({"snapshots", "ls", "-q"}).out, "") << "garbage collected";

  r = Berth({"images", "rm", kBusybox});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.err;
}

TEST_F(CliImagesTest, ImportFromStdinWithoutUnpack) {
  auto data = sys::ReadFile(TestImage("layers-docker.tar"));
  ASSERT_TRUE(data.ok());
  CommandResult r = Berth({"images", "import", "--no-unpack", "-"}, "", *data);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, absl::StrCat("imported ", kLayers, " (sha256:"))) << r.out;
  EXPECT_EQ(Berth({"snapshots", "ls", "-q"}).out, "") << "nothing unpacked";
  r = Berth({"images", "check"});
  auto row = Row(r.out, kLayers);
  ASSERT_TRUE(row.has_value()) << r.Describe();
  EXPECT_EQ(row->back(), "false") << r.out;
}

TEST_F(CliImagesTest, ImportFailuresLeaveNothingBehind) {
  CommandResult r = Berth({"images", "import", TestImage("no-such.tar")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StartsWith(r.err, "berth: open ")) << r.err;

  auto data = sys::ReadFile(TestImage("busybox-oci.tar"));
  ASSERT_TRUE(data.ok());
  r = Berth({"images", "import", "-"}, "", data->substr(0, 5000));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.err, "invalid argument")) << r.err;
  EXPECT_EQ(Berth({"images", "ls", "-q"}).out, "");
  EXPECT_TRUE(client::ListLeases(*client_)->empty()) << "the lease went with the failure";

  r = Berth({"images", "import", "--platform", "windows/arm64", TestImage("busybox-oci.tar")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "berth: image might be filtered out: not found\n");
}

TEST_F(CliImagesTest, ProgressBarOnATerminal) {
  struct stat st;
  if (stat("/usr/bin/script", &st) != 0) GTEST_SKIP() << "needs script(1) for a pty";
  std::string cmd = absl::StrCat(kBerthPath, " --address ", daemon_.socket(), " -n ", ns_,
                                 " images import --no-unpack ", TestImage("busybox-docker.tar"));
  CommandResult r = RunCommand({"/usr/bin/script", "-qec", cmd, "/dev/null"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "\r\x1b[Kimporting |")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "+| 2.0 MiB / 2.0 MiB")) << "ends full\n" << r.out;
}

TEST_F(CliImagesTest, ContentGetAndRemove) {
  ASSERT_EQ(Berth({"images", "import", "--no-unpack", TestImage("busybox-oci.tar")}).exit_code, 0);
  auto image = client::GetImage(*client_, kBusybox);
  ASSERT_TRUE(image.ok());
  const std::string manifest = image->target().digest();

  CommandResult r = Berth({"content", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, manifest);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[2], "B") << "a manifest is a few hundred bytes\n" << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "containerd.io/gc.ref.content.config=")) << r.out;

  r = Berth({"content", "get", manifest});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "\"schemaVersion\":2")) << r.out;
  EXPECT_EQ(static_cast<int64_t>(r.out.size()), image->target().size());

  r = Berth({"content", "rm", manifest, "sha256:" + std::string(64, '0')});
  EXPECT_EQ(r.exit_code, 1) << "one of two failed";
  EXPECT_EQ(r.out, manifest + "\n");
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.err;
  EXPECT_FALSE(absl::StrContains(Berth({"content", "ls", "-q"}).out, manifest));
  r = Berth({"images", "check"});
  EXPECT_TRUE(absl::StrContains(r.out, "unavailable")) << r.Describe();
}

TEST_F(CliImagesTest, SnapshotsRemoveRefusesAParentWithChildren) {
  ASSERT_EQ(Berth({"images", "import", TestImage("layers-docker.tar")}).exit_code, 0);
  std::vector<std::string> chain = ChainIds(kLayers);
  ASSERT_EQ(chain.size(), 4u);
  CommandResult r = Berth({"snapshots", "rm", chain[0]});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  r = Berth({"snapshots", "rm", chain.back()});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, chain.back() + "\n");
  r = Berth({"images", "check"});
  auto row = Row(r.out, kLayers);
  ASSERT_TRUE(row.has_value()) << r.Describe();
  EXPECT_EQ(row->back(), "false") << "the top snapshot is gone\n" << r.out;
}

TEST_F(CliImagesTest, PruneKeepsImagesContainersUse) {
  ASSERT_EQ(Berth({"images", "import", TestImage("busybox-docker.tar")}).exit_code, 0);
  ASSERT_EQ(Berth({"images", "import", TestImage("layers-oci.tar")}).exit_code, 0);
  containerd::services::containers::v1::Container c;
  c.set_id("uses-busybox");
  c.set_image(kBusybox);
  c.mutable_runtime()->set_name("io.containerd.runc.v2");
  c.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  c.mutable_spec()->set_value(R"({"ociVersion":"1.0.2"})");
  absl::Status created = client::CreateContainer(*client_, c).status();
  ASSERT_TRUE(created.ok()) << created;

  CommandResult r = Berth({"prune"});
  EXPECT_EQ(r.exit_code, 1) << "no terminal to confirm on";
  EXPECT_TRUE(absl::StrContains(r.err, "--force")) << r.err;
  EXPECT_EQ(Berth({"prune", "--dry-run"}).out, absl::StrCat("would delete ", kLayers, "\n"));

  const size_t snapshots_before = Lines(Berth({"snapshots", "ls", "-q"}).out).size();
  r = Berth({"prune", "--force"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, absl::StrCat("deleted ", kLayers, "\nremoved "))) << r.out;
  // layers shares its bottom layer with busybox: three of its four snapshots go.
  EXPECT_TRUE(absl::StrContains(r.out, "3 overlayfs snapshot(s)")) << r.out;
  EXPECT_EQ(Berth({"images", "ls", "-q"}).out, absl::StrCat(kBusybox, "\n"));
  EXPECT_EQ(Lines(Berth({"snapshots", "ls", "-q"}).out).size(), snapshots_before - 3);
  r = Berth({"images", "check", "-q"});
  EXPECT_EQ(r.out, absl::StrCat(kBusybox, "\n")) << "what stays is complete\n" << r.Describe();
}

}  // namespace
}  // namespace berth::test
