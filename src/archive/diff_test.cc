#include "archive/diff.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "archive/apply.h"
#include "archive/tar_reader.h"
#include "archive/test_util.h"

namespace berth::archive {
namespace {

constexpr int64_t kTime = 1600000000;
const std::string kCap(
    "\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 20);

void Mkdir(const std::string& path, mode_t mode = 0755) {
  ASSERT_EQ(::mkdir(path.c_str(), mode), 0) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// Sets every atime and mtime under `dir` (and dir itself) to `t`, children first.
void FixTimes(const std::string& dir, int64_t t) {
  std::vector<std::string> paths;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir)) paths.push_back(e.path());
  paths.push_back(dir);
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) {
    struct timespec times[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, it->c_str(), times, AT_SYMLINK_NOFOLLOW), 0) << *it;
  }
}

// The tree every test starts from (built identically into several directories).
void PopulateLower(const std::string& d) {
  Mkdir(d + "/etc");
  testing::WriteFileOrDie(d + "/etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644);
  testing::WriteFileOrDie(d + "/etc/hosts", "127.0.0.1 localhost\n", 0644);
  testing::WriteFileOrDie(d + "/etc/same-size", "aaaa", 0644);
  Mkdir(d + "/usr");
  Mkdir(d + "/usr/bin");
  testing::WriteFileOrDie(d + "/usr/bin/tool", "tool-v1", 0755);
  testing::WriteFileOrDie(d + "/usr/bin/ping", "ping", 0755);
  ASSERT_EQ(
      ::setxattr((d + "/usr/bin/ping").c_str(), "security.capability", kCap.data(), kCap.size(), 0),
      0);
  ASSERT_EQ(::link((d + "/usr/bin/tool").c_str(), (d + "/usr/bin/tool-alias").c_str()), 0);
  testing::WriteFileOrDie(d + "/usr/bin/single", "single", 0755);
  ASSERT_EQ(::symlink("tool", (d + "/usr/bin/link").c_str()), 0);
  Mkdir(d + "/var");
  Mkdir(d + "/var/cache");
  Mkdir(d + "/var/cache/deep");
  testing::WriteFileOrDie(d + "/var/cache/deep/blob", "cached", 0600);
  testing::WriteFileOrDie(d + "/var/file-to-dir", "f", 0644);
  Mkdir(d + "/var/dir-to-file");
  testing::WriteFileOrDie(d + "/var/dir-to-file/inner", "i", 0644);
  Mkdir(d + "/dev");
  ASSERT_EQ(::mknod((d + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::mkfifo((d + "/dev/fifo").c_str(), 0600), 0);
  Mkdir(d + "/home", 0750);
  ASSERT_EQ(::chown((d + "/home").c_str(), 1000, 1000), 0);
  FixTimes(d, kTime);
}

class DiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lower_ = tmp_.Sub("lower", true);
    upper_ = tmp_.Sub("upper", true);
    applied_ = tmp_.Sub("applied", true);
  }

  // Diffs lower→upper, applies the layer onto `applied_` (a copy of lower) and expects the result
  // to look exactly like upper.
  DiffResult RoundTrip(Compression c) {
    sys::UniqueFd out = testing::MemFd("");
    absl::StatusOr<DiffResult> diff = WriteDiff(lower_, upper_, out.get(), c);
    EXPECT_TRUE(diff.ok()) << diff.status();
    std::string layer = testing::ReadAllFd(out.get());
    EXPECT_EQ(diff->digest.str(), testing::Sha256Digest(layer));
    EXPECT_EQ(diff->size, static_cast<int64_t>(layer.size()));
    absl::StatusOr<ApplyResult> applied = testing::ApplyBytes(layer, applied_);
    EXPECT_TRUE(applied.ok()) << applied.status();
    if (applied.ok()) {
      EXPECT_EQ(applied->uncompressed_digest, diff->uncompressed_digest);
      EXPECT_EQ(applied->uncompressed_size, diff->uncompressed_size);
      EXPECT_EQ(applied->compression, c);
    }
    // The roots' own times are not part of a layer (containerd never writes "./").
    auto want = testing::Snapshot(upper_, {}, /*with_root=*/false);
    auto got = testing::Snapshot(applied_, {}, /*with_root=*/false);
    EXPECT_EQ(got, want);
    for (const auto& [path, desc] : want) {
      if (got[path] != desc) ADD_FAILURE() << path << "\n want " << desc << "\n got  " << got[path];
    }
    for (const auto& [path, desc] : got) {
      if (!want.contains(path)) ADD_FAILURE() << "unexpected " << path << ": " << desc;
    }
    return *diff;
  }

  // The entries of an uncompressed or compressed layer, as "name" or "name -> link".
  static std::vector<std::string> Entries(const std::string& layer) {
    std::vector<std::string> out;
    sys::UniqueFd fd = testing::MemFd(layer);
    auto reader = TarReader::Open(fd.get());
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return out;
    for (;;) {
      auto e = (*reader)->Next();
      EXPECT_TRUE(e.ok()) << e.status();
      if (!e.ok() || !e->has_value()) break;
      std::string s = (*e)->name;
      if ((*e)->type == EntryType::kHardlink) s += " => " + (*e)->linkname;
      if ((*e)->type == EntryType::kSymlink) s += " -> " + (*e)->linkname;
      out.push_back(s);
    }
    return out;
  }

  std::string DiffBytes(Compression c = Compression::kNone) {
    sys::UniqueFd out = testing::MemFd("");
    absl::StatusOr<DiffResult> diff = WriteDiff(lower_, upper_, out.get(), c);
    EXPECT_TRUE(diff.ok()) << diff.status();
    return testing::ReadAllFd(out.get());
  }

  testing::TempDir tmp_;
  std::string lower_, upper_, applied_;
};

TEST_F(DiffTest, RoundTripReproducesUpper) {
  PopulateLower(lower_);
  PopulateLower(upper_);
  PopulateLower(applied_);
  const std::string& u = upper_;
  // Added: files, a nested directory, a new hard-linked pair, a device.
  Mkdir(u + "/opt");
  Mkdir(u + "/opt/app");
  testing::WriteFileOrDie(u + "/opt/app/run", "#!/bin/sh\n", 0755);
  ASSERT_EQ(::link((u + "/opt/app/run").c_str(), (u + "/opt/app/run2").c_str()), 0);
  ASSERT_EQ(::mknod((u + "/dev/zero").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);
  testing::WriteFileOrDie(u + "/etc/new", "new", 0600);
  ASSERT_EQ(::chown((u + "/etc/new").c_str(), 33, 44), 0);
  // Modified: same size and time but other bytes (found only by comparing contents), mode,
  // owner, setuid, symlink target, capability gone.
  testing::WriteFileOrDie(u + "/etc/same-size", "bbbb", 0644);
  ASSERT_EQ(::chmod((u + "/etc/hosts").c_str(), 0600), 0);
  ASSERT_EQ(::chown((u + "/etc/passwd").c_str(), 0, 42), 0);
  ASSERT_EQ(::chmod((u + "/usr/bin/single").c_str(), 04755), 0);
  ASSERT_EQ(::unlink((u + "/usr/bin/link").c_str()), 0);
  ASSERT_EQ(::symlink("ping", (u + "/usr/bin/link").c_str()), 0);
  ASSERT_EQ(::removexattr((u + "/usr/bin/ping").c_str(), "security.capability"), 0);
  // A hard link added to an unchanged file: the unchanged name must come along as a link.
  ASSERT_EQ(::link((u + "/etc/passwd").c_str(), (u + "/etc/passwd.bak").c_str()), 0);
  // Deleted: a file, a whole directory tree; replaced: file by directory and the reverse.
  ASSERT_EQ(::unlink((u + "/usr/bin/tool-alias").c_str()), 0);
  std::filesystem::remove_all(u + "/var/cache");
  ASSERT_EQ(::unlink((u + "/var/file-to-dir").c_str()), 0);
  Mkdir(u + "/var/file-to-dir");
  testing::WriteFileOrDie(u + "/var/file-to-dir/child", "c", 0644);
  std::filesystem::remove_all(u + "/var/dir-to-file");
  testing::WriteFileOrDie(u + "/var/dir-to-file", "now a file", 0644);
  ASSERT_EQ(::unlink((u + "/dev/fifo").c_str()), 0);
  FixTimes(u, kTime);

  RoundTrip(Compression::kGzip);
}

TEST_F(DiffTest, LayerContentsAndOrder) {
  PopulateLower(lower_);
  PopulateLower(upper_);
  testing::WriteFileOrDie(upper_ + "/usr/bin/added", "a", 0755);
  ASSERT_EQ(::unlink((upper_ + "/etc/hosts").c_str()), 0);
  std::filesystem::remove_all(upper_ + "/var/cache");
  Mkdir(upper_ + "/a-dir");
  testing::WriteFileOrDie(upper_ + "/a-dir/f", "f", 0644);
  ASSERT_EQ(::link((upper_ + "/etc/passwd").c_str(), (upper_ + "/a-dir/passwd").c_str()), 0);
  FixTimes(upper_, kTime);
  EXPECT_EQ(Entries(DiffBytes()), (std::vector<std::string>{
                                      "a-dir/",
                                      "a-dir/f",
                                      "a-dir/passwd",
                                      "etc/",
                                      "etc/.wh.hosts",
                                      "etc/passwd => a-dir/passwd",
                                      "usr/",
                                      "usr/bin/",
                                      "usr/bin/added",
                                      "var/",
                                      "var/.wh.cache",
                                  }));
}

TEST_F(DiffTest, BaseLayerFromNothing) {
  PopulateLower(upper_);
  // "" and an empty directory are the same lower.
  std::string from_empty_dir = DiffBytes(Compression::kNone);
  sys::UniqueFd out = testing::MemFd("");
  absl::StatusOr<DiffResult> diff = WriteDiff("", upper_, out.get(), Compression::kNone);
  ASSERT_TRUE(diff.ok()) << diff.status();
  std::string from_nothing = testing::ReadAllFd(out.get());
  EXPECT_EQ(from_nothing, from_empty_dir) << "the same tar, byte for byte";
  EXPECT_EQ(diff->digest, diff->uncompressed_digest) << "uncompressed: blob = diff_id";
  EXPECT_EQ(diff->size, diff->uncompressed_size);
  EXPECT_EQ(from_nothing.size() % 512, 0u);
  RoundTrip(Compression::kZstd);
}

TEST_F(DiffTest, IdenticalTreesGiveAnEmptyLayer) {
  PopulateLower(lower_);
  PopulateLower(upper_);
  std::string layer = DiffBytes();
  EXPECT_TRUE(Entries(layer).empty());
  EXPECT_EQ(layer, std::string(1024, '\0')) << "just the end-of-archive blocks, as Go writes";
}

TEST_F(DiffTest, SameSizeAndNanosecondTimeIsTakenAsUnmodified) {
  // continuity's rule: equal non-zero nanoseconds mean "unchanged" without reading the file.
  testing::WriteFileOrDie(lower_ + "/f", "aaaa", 0644);
  testing::WriteFileOrDie(upper_ + "/f", "bbbb", 0644);
  testing::WriteFileOrDie(upper_ + "/g", "g", 0644);
  struct timespec t[2] = {{kTime, 123}, {kTime, 123}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (lower_ + "/f").c_str(), t, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (upper_ + "/f").c_str(), t, 0), 0);
  EXPECT_EQ(Entries(DiffBytes()), (std::vector<std::string>{"g"}));
}

TEST_F(DiffTest, LongAndNonAsciiNamesRoundTrip) {
  std::string long_dir = upper_ + "/" + std::string(150, 'd');
  Mkdir(long_dir);
  testing::WriteFileOrDie(long_dir + "/" + std::string(200, 'f'), "long", 0644);
  testing::WriteFileOrDie(upper_ + "/h\xc3\xa9llo", "utf8", 0644);
  testing::WriteFileOrDie(upper_ + "/latin1-\xe9", "latin1", 0644);
  ASSERT_EQ(::symlink(std::string(300, 't').c_str(), (upper_ + "/longlink").c_str()), 0);
  FixTimes(upper_, kTime);
  RoundTrip(Compression::kGzip);
}

TEST_F(DiffTest, MissingDirectoriesAreErrors) {
  sys::UniqueFd out = testing::MemFd("");
  EXPECT_EQ(WriteDiff(tmp_.Sub("nope"), upper_, out.get(), Compression::kNone).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(WriteDiff(lower_, tmp_.Sub("nope"), out.get(), Compression::kNone).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(WriteDiff(lower_, upper_, out.get(), Compression::kXz).status().code(),
            absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace berth::archive
