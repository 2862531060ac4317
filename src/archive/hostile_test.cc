// Hostile layers: each case tries to create, change or delete something outside the target
// directory. The fixture puts a sentinel tree next to the target (and the target's parent holds
// nothing else); every case asserts that the sentinel and the parent are exactly as before, and
// then whether the apply failed cleanly or landed safely inside the target.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "archive/apply.h"
#include "archive/test_util.h"

namespace berth::archive {
namespace {

using testing::TarBuilder;

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Sub("root", /*mkdir=*/true);
    outside_ = tmp_.Sub("outside", /*mkdir=*/true);
    victim_ = outside_ + "/victim";
    testing::WriteFileOrDie(victim_, "original", 0644);
    tmp_.Sub("outside/dir/sub", /*mkdir=*/true);
    testing::WriteFileOrDie(outside_ + "/dir/sub/file", "keep", 0600);
    before_ = testing::Snapshot(tmp_.path(), {"root"});
  }

  // Applies `data`; asserts nothing outside root changed; returns the result.
  absl::StatusOr<ApplyResult> Apply(const std::string& data, const ApplyOptions& options = {}) {
    absl::StatusOr<ApplyResult> r = testing::ApplyBytes(data, root_, options);
    EXPECT_EQ(testing::Snapshot(tmp_.path(), {"root"}), before_)
        << "something outside the target changed";
    EXPECT_EQ(testing::ReadFileOrDie(victim_), "original");
    struct stat st;
    EXPECT_EQ(::lstat(root_.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode)) << "root must stay a directory";
    return r;
  }

  std::string In(const std::string& rel) const { return root_ + "/" + rel; }
  static bool Exists(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }
  static bool IsRegular(const std::string& path) {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }

  testing::TempDir tmp_;
  std::string root_, outside_, victim_;
  std::map<std::string, std::string> before_;
};

TEST_F(HostileTest, AbsolutePathsLandInside) {
  auto r = Apply(TarBuilder()
                     .Add(testing::File(victim_, "pwned"))
                     .Add(testing::File("/etc/berth-hostile-test", "x"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In(victim_.substr(1))), "pwned");
  EXPECT_TRUE(IsRegular(In("etc/berth-hostile-test")));
  EXPECT_FALSE(Exists("/etc/berth-hostile-test"));
}

TEST_F(HostileTest, DotDotEscapesLandInside) {
  auto r = Apply(TarBuilder()
                     .Add(testing::File("../outside/victim", "pwned"))
                     .Add(testing::File("a/../../../../../../../../.." + victim_, "pwned2"))
                     .Add(testing::Dir("../outside/dir/"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In("outside/victim")), "pwned");
  EXPECT_EQ(testing::ReadFileOrDie(In(victim_.substr(1))), "pwned2");
}

TEST_F(HostileTest, FileThroughSymlinkToSlash) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("evil", "/"))
                     .Add(testing::File("evil" + victim_, "pwned"))
                     .Add(testing::File("evil/" + victim_, "pwned again"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In(victim_.substr(1))), "pwned again")
      << "the symlink resolves to the target's root";
}

TEST_F(HostileTest, FileThroughSymlinkToDotDot) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("up", "../.."))
                     .Add(testing::File("up/outside/victim", "pwned"))
                     .Add(testing::Symlink("sibling", "../outside"))
                     .Add(testing::File("sibling/victim", "pwned"))
                     .Add(testing::Symlink("deep/a/b", "../../../../outside"))
                     .Add(testing::File("deep/a/b/victim", "pwned"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In("outside/victim")), "pwned");
}

TEST_F(HostileTest, FileThroughSymlinkToAbsoluteOutsideDirectory) {
  // The symlink dangles inside root: the parents are created where it points, inside root.
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("out", outside_))
                     .Add(testing::File("out/victim", "pwned"))
                     .Add(testing::File("out/dir/sub/file", "pwned"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In(victim_.substr(1))), "pwned");
  EXPECT_TRUE(IsRegular(In(outside_.substr(1) + "/dir/sub/file")));
}

TEST_F(HostileTest, SymlinkChainsAndLoops) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("a", "b"))
                     .Add(testing::Symlink("b", "a"))
                     .Add(testing::File("a/x", "loop"))
                     .Build());
  EXPECT_FALSE(r.ok()) << "a symlink loop as a parent cannot be resolved";
  auto r2 = Apply(TarBuilder()
                      .Add(testing::Symlink("c1", "c2/.."))
                      .Add(testing::Symlink("c2", "/../../.."))
                      .Add(testing::File("c1/outside/victim", "pwned"))
                      .Build());
  ASSERT_TRUE(r2.ok()) << r2.status();
}

TEST_F(HostileTest, HardlinkToAnOutsidePathFails) {
  for (const std::string& target :
       {victim_, std::string("../outside/victim"), std::string("../../../../../..") + victim_}) {
    SCOPED_TRACE(target);
    auto r = Apply(TarBuilder().Add(testing::Hardlink("stolen", target)).Build());
    EXPECT_FALSE(r.ok()) << "the target resolves inside root, where it does not exist";
    struct stat st;
    ASSERT_EQ(::stat(victim_.c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << "no new link to the outside file";
  }
}

TEST_F(HostileTest, HardlinkThroughASymlinkedDirectory) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("out", outside_))
                     .Add(testing::Hardlink("stolen", "out/victim"))
                     .Build());
  EXPECT_FALSE(r.ok());
  auto r2 = Apply(TarBuilder()
                      .Add(testing::Symlink("top", "/"))
                      .Add(testing::Hardlink("stolen", "top" + victim_))
                      .Build());
  EXPECT_FALSE(r2.ok());
  struct stat st;
  ASSERT_EQ(::stat(victim_.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u);
}

TEST_F(HostileTest, HardlinkToSymlinkPointingOutsideThenWrite) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("s", victim_))
                     .Add(testing::Hardlink("h", "s"))
                     .Add(testing::File("h", "pwned"))
                     .Add(testing::File("s", "pwned"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(IsRegular(In("h")));
  EXPECT_TRUE(IsRegular(In("s")));
}

TEST_F(HostileTest, EntriesReplacingSymlinksToOutside) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("f", victim_))
                     .Add(testing::File("f", "pwned").Mode(0777).Owner(1234, 1234))
                     .Add(testing::Symlink("d", outside_))
                     .Add(testing::Dir("d/").Mode(0700))
                     .Add(testing::File("d/victim", "pwned"))
                     .Add(testing::Symlink("n", victim_))
                     .Add(testing::CharDev("n", 1, 3))
                     .Add(testing::Symlink("l", victim_))
                     .Add(testing::Symlink("l", victim_ + "2"))
                     .Add(testing::Symlink("m", victim_))
                     .Add(testing::Fifo("m"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In("f")), "pwned");
  EXPECT_EQ(testing::ReadFileOrDie(In("d/victim")), "pwned");
  struct stat st;
  ASSERT_EQ(::lstat(In("n").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(HostileTest, MetadataOfASymlinkIsNotAppliedToItsTarget) {
  // A symlink entry carries owner and times; a directory entry's times come at the end. Neither
  // may reach through a link to the outside.
  auto r = Apply(TarBuilder()
                     .Add(testing::Dir("d/").Mtime(1))
                     .Add(testing::Symlink("d", outside_).Owner(99, 99).Mtime(2))
                     .Add(testing::Symlink("v", victim_).Owner(99, 99).Mode(0777))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
}

TEST_F(HostileTest, WhiteoutNamesWithoutATargetAreRejected) {
  for (const char* name : {".wh...", ".wh..", ".wh.", "a/.wh..."}) {
    SCOPED_TRACE(name);
    auto r = Apply(TarBuilder().Add(testing::File(name)).Build());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  }
}

TEST_F(HostileTest, WhiteoutsAimedOutside) {
  testing::WriteFileOrDie(In("x"), "inside", 0644);
  auto r = Apply(TarBuilder()
                     .Add(testing::File("../.wh.outside"))
                     .Add(testing::File("../outside/.wh.victim"))
                     .Add(testing::File(outside_ + "/.wh.victim"))
                     .Add(testing::File("../.wh.x"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(Exists(In("x"))) << "../.wh.x is the whiteout of <root>/x";
  auto r2 = Apply(TarBuilder()
                      .Add(testing::Symlink("out", outside_))
                      .Add(testing::File("out/.wh.victim"))
                      .Add(testing::File("out/.wh.dir"))
                      .Add(testing::Symlink("up", ".."))
                      .Add(testing::File("up/.wh.outside"))
                      .Build());
  ASSERT_TRUE(r2.ok()) << r2.status();
}

TEST_F(HostileTest, OpaqueWhiteoutAtRootAndThroughSymlinks) {
  testing::WriteFileOrDie(In("lower-file"), "lower", 0644);
  auto r = Apply(TarBuilder()
                     .Add(testing::File("new", "n"))
                     .Add(testing::File(".wh..wh..opq"))
                     .Add(testing::Symlink("out", outside_))
                     .Add(testing::File("out/.wh..wh..opq"))
                     .Add(testing::Symlink("up", "../.."))
                     .Add(testing::File("up/.wh..wh..opq"))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(Exists(In("lower-file"))) << "root made opaque: lower content goes";
  EXPECT_TRUE(Exists(In("new")));
  // In overlay mode the marker becomes an xattr, set on a directory inside root.
  auto r2 = Apply(TarBuilder()
                      .Add(testing::Symlink("o2", outside_))
                      .Add(testing::File("o2/.wh..wh..opq"))
                      .Add(testing::File("o2/.wh.victim"))
                      .Build(),
                  ApplyOptions{.whiteouts = WhiteoutMode::kOverlay});
  ASSERT_TRUE(r2.ok()) << r2.status();
}

TEST_F(HostileTest, DeviceNodesAreCreatedInside) {
  auto r = Apply(TarBuilder()
                     .Add(testing::CharDev("dev/mem", 1, 1).Mode(0666))
                     .Add(testing::BlockDev("../dev/sda", 8, 0))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(::lstat(In("dev/mem").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  ASSERT_EQ(::lstat(In("dev/sda").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
}

TEST_F(HostileTest, EntriesNamingTheRootAreIgnored) {
  ASSERT_EQ(::chmod(root_.c_str(), 0711), 0);
  auto r = Apply(TarBuilder()
                     .Add(testing::Dir(".").Mode(0777).Owner(5, 5))
                     .Add(testing::Dir("/").Mode(0777))
                     .Add(testing::Dir("./"))
                     .Add(testing::Dir(".."))
                     .Add(testing::File(".", "file over root"))
                     .Add(testing::Symlink("/", outside_))
                     .Add(testing::Symlink("a/..", "/"))
                     .Add(testing::Hardlink("..", victim_))
                     .Build());
  ASSERT_TRUE(r.ok()) << r.status();
  struct stat st;
  ASSERT_EQ(::lstat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u) << "root's own metadata is not the layer's to change";
  EXPECT_EQ(st.st_uid, 0u);
}

TEST_F(HostileTest, HardlinksToRootOrDirectoriesFail) {
  EXPECT_EQ(Apply(TarBuilder().Add(testing::Hardlink("x", "/")).Build()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(
      Apply(TarBuilder().Add(testing::Dir("d/")).Add(testing::Hardlink("x", "d")).Build()).ok());
}

TEST_F(HostileTest, ParentThatIsAFileFails) {
  auto r =
      Apply(TarBuilder().Add(testing::File("f", "x")).Add(testing::File("f/child", "y")).Build());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("f/child"), absl::string_view::npos) << r.status();
}

TEST_F(HostileTest, ProcMagicLinksAreNotFollowed) {
  auto r = Apply(TarBuilder()
                     .Add(testing::Symlink("p", "/proc/self/root"))
                     .Add(testing::File("p" + victim_, "pwned"))
                     .Add(testing::Symlink("fd", "/proc/self/fd/3"))
                     .Add(testing::File("fd/x", "pwned"))
                     .Build());
  // Inside root, /proc/self/root is a plain (missing) path: created there, never the magic link.
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(testing::ReadFileOrDie(In("proc/self/root" + victim_)), "pwned");
}

TEST_F(HostileTest, HugeSizeWithTruncatedData) {
  testing::RawEntry e = testing::File("huge", std::string(1000, 'x'));
  e.declared_size = 077777777777;  // 8 GiB announced, 1000 bytes present
  auto r = Apply(TarBuilder().Add(e).Build(/*end_blocks=*/false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find("huge"), absl::string_view::npos) << r.status();
}

TEST_F(HostileTest, OversizedPaxAndLongNameHeadersFailFast) {
  // Extended headers are read into memory: an announced 8 GiB one must be refused, not allocated.
  for (char type : {'x', 'L', 'g'}) {
    SCOPED_TRACE(type);
    testing::RawEntry e = testing::File("PaxHeaders/bomb", "30 path=aaaaaaaaaaaaaaaaaaaa\n");
    e.typeflag = type;
    e.declared_size = 077777777777;
    auto r = Apply(TarBuilder().Add(e).Raw(std::string(4096, 'a')).Build(false));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
}

TEST_F(HostileTest, TruncatedStreams) {
  std::string tar = TarBuilder()
                        .Add(testing::File("a", std::string(100000, 'a')))
                        .Add(testing::File("b", std::string(100000, 'b')))
                        .Build();
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    SCOPED_TRACE(CompressionName(c));
    std::string data = testing::Compress(tar, c);
    if (c == Compression::kNone) data = tar;
    auto r = Apply(data.substr(0, data.size() / 2));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
}

TEST_F(HostileTest, CorruptGzip) {
  std::string tar = TarBuilder().Add(testing::File("a", std::string(200000, 'a'))).Build();
  std::string gz = testing::Compress(tar, Compression::kGzip);
  for (size_t i = gz.size() / 3; i < gz.size() / 3 + 16; ++i)
    gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  auto r = Apply(gz);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
}

TEST_F(HostileTest, GarbageIsNotATar) {
  std::string garbage;
  for (int i = 0; i < 5000; ++i) garbage.push_back(static_cast<char>((i * 7919) % 251));
  auto r = Apply(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  auto r2 = Apply("this is not a layer\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument) << r2.status();
}

TEST_F(HostileTest, HeaderChecksumErrors) {
  testing::RawEntry bad = testing::File("second", "x");
  bad.corrupt_checksum = true;
  auto r = Apply(TarBuilder().Add(testing::File("first", "x")).Add(bad).Build());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  EXPECT_NE(r.status().message().find("first"), absl::string_view::npos)
      << "the error names the last good entry: " << r.status();

  auto r2 = Apply(TarBuilder().Add(bad).Build());
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.status().code(), absl::StatusCode::kInvalidArgument) << r2.status();
}

TEST_F(HostileTest, LongNamesStayInside) {
  std::string escape;
  for (int i = 0; i < 200; ++i) escape += "../";
  auto r = Apply(TarBuilder()
                     .Add(testing::File(escape + "outside/victim", "pwned"))
                     .Add(testing::Symlink(std::string(300, 'l'), escape + outside_))
                     .Add(testing::File(std::string(300, 'l') + "/victim", "pwned"))
                     .Build());
  EXPECT_FALSE(r.ok()) << "a 300-byte name component is too long for the file system";
  auto r2 = Apply(TarBuilder()
                      .Add(testing::File(escape + "outside/victim", "pwned"))
                      .Add(testing::Symlink(std::string(250, 'l'), escape + outside_))
                      .Add(testing::File(std::string(250, 'l') + "/victim", "pwned"))
                      .Build());
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(testing::ReadFileOrDie(In("outside/victim")), "pwned");
}

TEST_F(HostileTest, EmptyStreamIsAnEmptyLayer) {
  auto r = Apply("");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->entries, 0);
}

}  // namespace
}  // namespace berth::archive
