#include "sys/fs.h"
#include "sys/file.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace berth::sys {
namespace {

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(FsTest, MakeDirsCreatesNestedDirectories) {
  std::string path = dir_ + "/a/b/c";
  ASSERT_TRUE(MakeDirs(path, 0711).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_TRUE(MakeDirs(path, 0711).ok()) << "idempotent";
  ASSERT_EQ(close(open((dir_ + "/file").c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  EXPECT_EQ(MakeDirs(dir_ + "/file", 0711).code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FsTest, ReplaceFileAndWriteFileAtomicSwapTheWholeFile) {
  for (auto write : {&ReplaceFile, &WriteFileAtomic}) {
    std::string path = dir_ + "/address";
    ASSERT_TRUE(write(path, "unix:///first", 0600).ok());
    ASSERT_TRUE(write(path, "unix:///second", 0600).ok());
    EXPECT_EQ(*ReadFile(path), "unix:///second");
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(*ListDir(dir_), std::vector<std::string>{"address"}) << "no temporary left";
    ASSERT_EQ(unlink(path.c_str()), 0);
  }
  EXPECT_FALSE(ReplaceFile(dir_ + "/missing/address", "x", 0600).ok());
  EXPECT_EQ(*ListDir(dir_), std::vector<std::string>{});
}

TEST_F(FsTest, LockFileExcludesOtherProcesses) {
  std::string path = dir_ + "/lock";
  auto held = LockFile(path);
  ASSERT_TRUE(held.ok()) << held.status();
  pid_t child = fork();
  if (child == 0) {
    auto second = LockFile(path);
    bool ok = !second.ok() && second.status().code() == absl::StatusCode::kFailedPrecondition &&
              second.status().message().find(std::to_string(getppid())) != absl::string_view::npos;
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "a second process must be refused, naming the holder's pid";
}

TEST_F(FsTest, ClearStaleSocketRemovesDeadSocketsOnly) {
  std::string path = dir_ + "/s.sock";
  EXPECT_TRUE(ClearStaleSocket(path).ok()) << "absent is fine";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  EXPECT_EQ(ClearStaleSocket(path).code(), absl::StatusCode::kFailedPrecondition)
      << "a live listener must not be removed";
  close(fd);
  EXPECT_TRUE(ClearStaleSocket(path).ok());
  EXPECT_NE(access(path.c_str(), F_OK), 0) << "stale socket removed";
  ASSERT_EQ(close(open((dir_ + "/plain").c_str(), O_CREAT | O_WRONLY, 0600)), 0);
  EXPECT_EQ(ClearStaleSocket(dir_ + "/plain").code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace berth::sys
