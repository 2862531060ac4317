#include "archive/apply.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "archive/test_util.h"

namespace berth::archive {
namespace {

using testing::ApplyBytes;
using testing::TarBuilder;

struct stat Lstat(const std::string& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path << ": " << std::strerror(errno);
  return st;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

std::string Readlink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
  return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

std::string GetXattr(const std::string& path, const std::string& key) {
  char buf[4096];
  ssize_t n = ::lgetxattr(path.c_str(), key.c_str(), buf, sizeof(buf));
  return n < 0 ? "<absent>" : std::string(buf, static_cast<size_t>(n));
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

class ApplyTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = tmp_.Sub("root", /*mkdir=*/true); }
  std::string P(const std::string& rel) const { return root_ + "/" + rel; }

  ApplyResult MustApply(const std::string& data, const ApplyOptions& options = {}) {
    absl::StatusOr<ApplyResult> r = ApplyBytes(data, root_, options);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ApplyResult{Digest::Parse(testing::Sha256Digest("")).value()};
  }

  testing::TempDir tmp_;
  std::string root_;
};

TEST_F(ApplyTest, FilesDirectoriesOwnershipModesAndTimes) {
  std::string tar =
      TarBuilder()
          .Add(testing::Dir("etc/").Mode(0751).Owner(1, 2).Mtime(1000000000))
          .Add(testing::File("etc/passwd", "root:x:0:0\n").Mode(0640).Owner(3, 4).Mtime(1100000000))
          .Add(testing::File("bin/su", "#!elf").Mode(04755).Owner(0, 0))
          .Add(testing::File("tmpdir/x").Mode(01777))
          .Add(testing::File("g", "").Mode(02711).Owner(5, 6))
          .Build();
  ApplyResult r = MustApply(tar);
  EXPECT_EQ(r.entries, 5);
  EXPECT_EQ(r.whiteouts, 0);
  EXPECT_EQ(r.compression, Compression::kNone);
  EXPECT_EQ(r.uncompressed_digest.str(), testing::Sha256Digest(tar));
  EXPECT_EQ(r.uncompressed_size, static_cast<int64_t>(tar.size()));

  struct stat passwd = Lstat(P("etc/passwd"));  // before reading it moves the atime
  EXPECT_EQ(testing::ReadFileOrDie(P("etc/passwd")), "root:x:0:0\n");
  struct stat etc = Lstat(P("etc"));
  EXPECT_TRUE(S_ISDIR(etc.st_mode));
  EXPECT_EQ(etc.st_mode & 07777, 0751u);
  EXPECT_EQ(etc.st_uid, 1u);
  EXPECT_EQ(etc.st_gid, 2u);
  EXPECT_EQ(etc.st_mtim.tv_sec, 1000000000) << "directory times are set after their contents";
  EXPECT_EQ(passwd.st_mode & 07777, 0640u);
  EXPECT_EQ(passwd.st_uid, 3u);
  EXPECT_EQ(passwd.st_gid, 4u);
  EXPECT_EQ(passwd.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(passwd.st_atim.tv_sec, 1100000000) << "no atime in the header: atime = mtime";
  EXPECT_EQ(Lstat(P("bin/su")).st_mode & 07777, 04755u) << "setuid survives the chown";
  EXPECT_EQ(Lstat(P("g")).st_mode & 07777, 02711u) << "setgid survives the chown";
  EXPECT_EQ(Lstat(P("tmpdir/x")).st_mode & 07777, 01777u);
  struct stat bin = Lstat(P("bin"));
  EXPECT_EQ(bin.st_mode & 07777, 0755u) << "implied parents are 0755 whatever the umask";
  EXPECT_EQ(bin.st_uid, 0u);
}

TEST_F(ApplyTest, AccessTimeIsNeverBeforeModificationTime) {
  std::string tar = TarBuilder()
                        .Add(testing::File("later", "x").Mtime(1000).Pax("atime", "2000.5"))
                        .Add(testing::File("earlier", "x").Mtime(3000).Pax("atime", "1000"))
                        .Add(testing::File("prehistoric", "x").Pax("mtime", "-5"))
                        .Add(testing::File("nanos", "x").Pax("mtime", "1234.000000567"))
                        .Build();
  MustApply(tar);
  struct stat later = Lstat(P("later"));
  EXPECT_EQ(later.st_atim.tv_sec, 2000);
  EXPECT_EQ(later.st_atim.tv_nsec, 500000000);
  EXPECT_EQ(later.st_mtim.tv_sec, 1000);
  EXPECT_EQ(Lstat(P("earlier")).st_atim.tv_sec, 3000);
  EXPECT_EQ(Lstat(P("prehistoric")).st_mtim.tv_sec, 0) << "times before 1970 become 1970";
  EXPECT_EQ(Lstat(P("nanos")).st_mtim.tv_nsec, 567);
}

TEST_F(ApplyTest, SymlinksAreCreatedNotFollowed) {
  std::string tar = TarBuilder()
                        .Add(testing::Symlink("rel", "../target/file").Owner(7, 8).Mtime(123456))
                        .Add(testing::Symlink("abs", "/etc/shadow"))
                        .Add(testing::Symlink("dangling/deep/link", "nowhere"))
                        .Build();
  MustApply(tar);
  EXPECT_EQ(Readlink(P("rel")), "../target/file");
  EXPECT_EQ(Readlink(P("abs")), "/etc/shadow");
  EXPECT_EQ(Readlink(P("dangling/deep/link")), "nowhere");
  struct stat rel = Lstat(P("rel"));
  EXPECT_TRUE(S_ISLNK(rel.st_mode));
  EXPECT_EQ(rel.st_uid, 7u) << "lchown, not chown";
  EXPECT_EQ(rel.st_gid, 8u);
  EXPECT_EQ(rel.st_mtim.tv_sec, 123456);
}

TEST_F(ApplyTest, HardLinksShareTheInode) {
  std::string tar = TarBuilder()
                        .Add(testing::File("usr/bin/perl", "perl").Mode(0755))
                        .Add(testing::Hardlink("usr/bin/perl5", "usr/bin/perl").Mode(0755))
                        .Add(testing::Hardlink("other/perl", "/usr/bin/perl").Mode(0755))
                        .Add(testing::Symlink("sym", "usr/bin/perl"))
                        .Add(testing::Hardlink("sym2", "sym"))
                        .Build();
  MustApply(tar);
  struct stat a = Lstat(P("usr/bin/perl"));
  struct stat b = Lstat(P("usr/bin/perl5"));
  struct stat c = Lstat(P("other/perl"));
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_nlink, 3u);
  struct stat sym = Lstat(P("sym"));
  struct stat sym2 = Lstat(P("sym2"));
  EXPECT_TRUE(S_ISLNK(sym2.st_mode)) << "a hard link to a symlink links the symlink itself";
  EXPECT_EQ(sym.st_ino, sym2.st_ino);
}

TEST_F(ApplyTest, DevicesAndFifos) {
  std::string tar = TarBuilder()
                        .Add(testing::CharDev("dev/null", 1, 3).Mode(0666))
                        .Add(testing::BlockDev("dev/loop0", 7, 0).Mode(0660).Owner(0, 6))
                        .Add(testing::Fifo("run/fifo").Mode(0620))
                        .Build();
  MustApply(tar);
  struct stat null = Lstat(P("dev/null"));
  EXPECT_TRUE(S_ISCHR(null.st_mode));
  EXPECT_EQ(major(null.st_rdev), 1u);
  EXPECT_EQ(minor(null.st_rdev), 3u);
  EXPECT_EQ(null.st_mode & 07777, 0666u) << "umask must not apply";
  struct stat loop = Lstat(P("dev/loop0"));
  EXPECT_TRUE(S_ISBLK(loop.st_mode));
  EXPECT_EQ(major(loop.st_rdev), 7u);
  EXPECT_EQ(loop.st_gid, 6u);
  struct stat fifo = Lstat(P("run/fifo"));
  EXPECT_TRUE(S_ISFIFO(fifo.st_mode));
  EXPECT_EQ(fifo.st_mode & 07777, 0620u);
}

TEST_F(ApplyTest, Xattrs) {
  std::string cap(
      "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);
  std::string tar =
      TarBuilder()
          .Add(testing::File("ping", "x").Mode(0755).Xattr("security.capability", cap))
          .Add(testing::File("forged", "x").Xattr("trusted.overlay.opaque", "y"))
          .Build();
  MustApply(tar);
  EXPECT_EQ(GetXattr(P("ping"), "security.capability"), cap) << "set after chown, kept";
  EXPECT_EQ(GetXattr(P("forged"), "trusted.overlay.opaque"), "<absent>")
      << "a layer must not set trusted.* (overlayfs metadata)";

  if (!testing::SupportsUserXattrs(root_)) GTEST_SKIP() << "no user xattrs on " << root_;
  std::string tar2 = TarBuilder()
                         .Add(testing::Dir("d/").Xattr("user.dir", "1"))
                         .Add(testing::File("d/f", "x").Xattr("user.mime", "text/plain"))
                         .Add(testing::Symlink("d/l", "f").Xattr("user.x", "ignored"))
                         .Build();
  MustApply(tar2);
  EXPECT_EQ(GetXattr(P("d"), "user.dir"), "1");
  EXPECT_EQ(GetXattr(P("d/f"), "user.mime"), "text/plain");
  EXPECT_EQ(GetXattr(P("d/l"), "user.x"), "<absent>")
      << "user.* on a symlink is refused by the kernel and ignored, as by containerd";
}

TEST_F(ApplyTest, ExistingEntriesAreReplacedExceptDirectoryOverDirectory) {
  MustApply(TarBuilder()
                .Add(testing::Dir("d/").Mode(0755))
                .Add(testing::File("d/old", "old"))
                .Add(testing::File("f", "file"))
                .Add(testing::Dir("s/"))
                .Add(testing::File("s/deep/content", "x"))
                .Add(testing::Symlink("l", "f"))
                .Add(testing::File("linked", "shared"))
                .Add(testing::Hardlink("alias", "linked"))
                .Build());
  MustApply(TarBuilder()
                .Add(testing::Dir("d/").Mode(0700).Owner(9, 9))
                .Add(testing::Dir("f/"))
                .Add(testing::File("s", "now a file"))
                .Add(testing::File("l", "no longer a link"))
                .Add(testing::File("alias", "replaced"))
                .Build());
  EXPECT_EQ(testing::ReadFileOrDie(P("d/old")), "old") << "directory merged, not replaced";
  EXPECT_EQ(Lstat(P("d")).st_mode & 07777, 0700u);
  EXPECT_EQ(Lstat(P("d")).st_uid, 9u);
  EXPECT_TRUE(S_ISDIR(Lstat(P("f")).st_mode));
  EXPECT_EQ(testing::ReadFileOrDie(P("s")), "now a file");
  EXPECT_TRUE(S_ISREG(Lstat(P("l")).st_mode));
  EXPECT_EQ(testing::ReadFileOrDie(P("l")), "no longer a link");
  EXPECT_EQ(testing::ReadFileOrDie(P("alias")), "replaced");
  EXPECT_EQ(testing::ReadFileOrDie(P("linked")), "shared")
      << "replacing a hard link must not write through it";
}

TEST_F(ApplyTest, WhiteoutsDeleteInDeleteMode) {
  MustApply(TarBuilder()
                .Add(testing::File("a/x", "x"))
                .Add(testing::File("a/y", "y"))
                .Add(testing::File("b/z/deep", "z"))
                .Add(testing::File("c", "c"))
                .Build());
  ApplyResult r = MustApply(TarBuilder()
                                .Add(testing::File("a/.wh.x"))
                                .Add(testing::File(".wh.b"))
                                .Add(testing::File(".wh.c"))
                                .Add(testing::File(".wh.never-existed"))
                                .Build());
  EXPECT_EQ(r.whiteouts, 4);
  EXPECT_FALSE(Exists(P("a/x")));
  EXPECT_TRUE(Exists(P("a/y")));
  EXPECT_FALSE(Exists(P("b")));
  EXPECT_FALSE(Exists(P("c")));
  EXPECT_FALSE(Exists(P("a/.wh.x"))) << "whiteouts are never written as files";
  EXPECT_FALSE(Exists(P(".wh.never-existed")));
}

TEST_F(ApplyTest, OpaqueDirectoryRemovesOnlyLowerEntries) {
  MustApply(TarBuilder()
                .Add(testing::File("d/old1", "1"))
                .Add(testing::File("d/sub/old2", "2"))
                .Add(testing::File("d/sub/keep-name", "lower"))
                .Add(testing::File("other/untouched", "u"))
                .Build());
  // The marker sorts after some of this layer's own entries: those must survive.
  ApplyResult r = MustApply(TarBuilder()
                                .Add(testing::Dir("d/"))
                                .Add(testing::File("d/new", "n"))
                                .Add(testing::Dir("d/sub/"))
                                .Add(testing::File("d/sub/keep-name", "upper"))
                                .Add(testing::File("d/.wh..wh..opq"))
                                .Add(testing::File("d/sub/new2", "n2"))
                                .Build());
  EXPECT_EQ(r.whiteouts, 1);
  EXPECT_FALSE(Exists(P("d/old1")));
  EXPECT_FALSE(Exists(P("d/sub/old2"))) << "lower entries below a kept directory go too";
  EXPECT_EQ(testing::ReadFileOrDie(P("d/sub/keep-name")), "upper");
  EXPECT_TRUE(Exists(P("d/new")));
  EXPECT_TRUE(Exists(P("d/sub/new2")));
  EXPECT_TRUE(Exists(P("other/untouched")));
  EXPECT_FALSE(Exists(P("d/.wh..wh..opq")));
}

TEST_F(ApplyTest, OverlayModeWritesOverlayWhiteouts) {
  ApplyOptions overlay{.whiteouts = WhiteoutMode::kOverlay};
  ApplyResult r = MustApply(TarBuilder()
                                .Add(testing::Dir("a/"))
                                .Add(testing::File("a/.wh.gone").Owner(12, 34))
                                .Add(testing::Dir("d/"))
                                .Add(testing::File("d/.wh..wh..opq"))
                                .Add(testing::File("d/kept", "k"))
                                .Build(),
                            overlay);
  EXPECT_EQ(r.whiteouts, 2);
  struct stat wh = Lstat(P("a/gone"));
  EXPECT_TRUE(S_ISCHR(wh.st_mode)) << "overlayfs whiteout: a 0/0 character device";
  EXPECT_EQ(wh.st_rdev, makedev(0, 0));
  EXPECT_EQ(wh.st_uid, 12u);
  EXPECT_EQ(wh.st_gid, 34u);
  EXPECT_FALSE(Exists(P("a/.wh.gone")));
  EXPECT_EQ(GetXattr(P("d"), "trusted.overlay.opaque"), "y");
  EXPECT_FALSE(Exists(P("d/.wh..wh..opq")));
  EXPECT_TRUE(Exists(P("d/kept")));
}

TEST_F(ApplyTest, OverlayParentsLendImpliedDirectoriesTheirAttributes) {
  std::string lower = tmp_.Sub("lower/usr/lib", /*mkdir=*/true);
  ASSERT_EQ(::chmod(lower.c_str(), 0710), 0);
  ASSERT_EQ(::chown(lower.c_str(), 11, 22), 0);
  struct timespec times[2] = {{5000, 0}, {5000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, lower.c_str(), times, 0), 0);
  if (testing::SupportsUserXattrs(tmp_.path())) {
    ASSERT_EQ(::setxattr(lower.c_str(), "user.lower", "v", 1, 0), 0);
  }
  ApplyOptions options{.whiteouts = WhiteoutMode::kOverlay,
                       .parents = {tmp_.Sub("missing"), tmp_.Sub("lower")}};
  // A missing lower is an error up front.
  EXPECT_FALSE(ApplyBytes(TarBuilder().Build(), root_, options).ok());
  options.parents = {tmp_.Sub("lower")};
  MustApply(TarBuilder().Add(testing::File("usr/lib/libc.so", "elf")).Build(), options);
  struct stat lib = Lstat(P("usr/lib"));
  EXPECT_EQ(lib.st_mode & 07777, 0710u);
  EXPECT_EQ(lib.st_uid, 11u);
  EXPECT_EQ(lib.st_gid, 22u);
  if (testing::SupportsUserXattrs(tmp_.path())) {
    EXPECT_EQ(GetXattr(P("usr/lib"), "user.lower"), "v");
  }
}

TEST_F(ApplyTest, CompressedLayersAndTheUncompressedDigest) {
  std::string big = RandomBytes(3 << 20, 1);
  std::string tar =
      TarBuilder().Add(testing::File("big", big)).Add(testing::File("small", "s")).Build();
  for (Compression c :
       {Compression::kGzip, Compression::kZstd, Compression::kXz, Compression::kBzip2}) {
    SCOPED_TRACE(CompressionName(c));
    testing::TempDir dir;
    absl::StatusOr<ApplyResult> r = ApplyBytes(testing::Compress(tar, c), dir.path());
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->compression, c);
    EXPECT_EQ(r->uncompressed_digest.str(), testing::Sha256Digest(tar));
    EXPECT_EQ(r->uncompressed_size, static_cast<int64_t>(tar.size()));
    EXPECT_EQ(r->entries, 2);
    EXPECT_EQ(testing::ReadFileOrDie(dir.path() + "/big"), big);
  }
}

TEST_F(ApplyTest, LargeFileThroughAPipeAndFromAFile) {
  std::string big = RandomBytes(40 << 20, 2);
  std::string tar = TarBuilder().Add(testing::File("blob", big)).Build();
  ApplyResult r = MustApply(tar);
  EXPECT_EQ(testing::ReadFileOrDie(P("blob")), big);
  testing::TempDir other;
  absl::StatusOr<ApplyResult> r2 = ApplyBytes(tar, other.path(), {}, /*via_pipe=*/false);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->uncompressed_digest, r.uncompressed_digest);
  EXPECT_EQ(testing::ReadFileOrDie(other.path() + "/blob"), big);
}

TEST_F(ApplyTest, EmptyLayersAreValid) {
  // Go's archive/tar (so containerd) reads an empty stream as an archive without entries.
  for (const std::string& data :
       {std::string(), std::string(1024, '\0'), testing::Compress("", Compression::kGzip),
        testing::Compress(std::string(1024, '\0'), Compression::kZstd)}) {
    absl::StatusOr<ApplyResult> r = ApplyBytes(data, root_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->entries, 0);
  }
  absl::StatusOr<ApplyResult> empty = ApplyBytes("", root_);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->uncompressed_digest.str(), testing::Sha256Digest(""));
  EXPECT_TRUE(testing::Snapshot(root_, {}, false).empty());
}

TEST_F(ApplyTest, TrailingBytesCountInTheDigest) {
  // tar(1) pads to 10 KiB records; containerd hashes everything the stream holds.
  std::string tar = TarBuilder().Add(testing::File("f", "x")).Build();
  tar.resize(10240, '\0');
  tar += "trailing";
  ApplyResult r = MustApply(tar);
  EXPECT_EQ(r.uncompressed_digest.str(), testing::Sha256Digest(tar));
  EXPECT_EQ(r.uncompressed_size, static_cast<int64_t>(tar.size()));
}

TEST_F(ApplyTest, LongAndNonAsciiNames) {
  std::string dir = std::string(120, 'd');
  std::string long_name = absl::StrCat(dir, "/", std::string(200, 'f'));
  std::string long_target = std::string(150, 't');
  std::string utf8 = "h\xc3\xa9llo/w\xc3\xb6rld";
  std::string tar = TarBuilder()
                        .Add(testing::File(long_name, "long"))
                        .Add(testing::Symlink("lnk", long_target))
                        .Add(testing::File(utf8, "utf8").Pax("path", utf8))
                        .Build();
  MustApply(tar);
  EXPECT_EQ(testing::ReadFileOrDie(P(long_name)), "long");
  EXPECT_EQ(Readlink(P("lnk")), long_target);
  EXPECT_EQ(testing::ReadFileOrDie(P(utf8)), "utf8");
}

TEST_F(ApplyTest, CleanLayerPath) {
  EXPECT_EQ(CleanLayerPath("a/b/"), "a/b");
  EXPECT_EQ(CleanLayerPath("./a//b/./c"), "a/b/c");
  EXPECT_EQ(CleanLayerPath("/etc/passwd"), "etc/passwd");
  EXPECT_EQ(CleanLayerPath("../../etc/x"), "etc/x");
  EXPECT_EQ(CleanLayerPath("a/../../b"), "b");
  EXPECT_EQ(CleanLayerPath("."), "");
  EXPECT_EQ(CleanLayerPath("/"), "");
  EXPECT_EQ(CleanLayerPath(".."), "");
  EXPECT_EQ(CleanLayerPath("a/.."), "");
  EXPECT_EQ(CleanLayerPath("...a"), "...a");
}

}  // namespace
}  // namespace berth::archive
