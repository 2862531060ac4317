// Our shim under a real containerd 1.6 (Debian's, on isolated paths): `ctr run --runtime
// io.containerd.berth.v2` runs, execs and kills through containerd-shim-berth-v2, which
// containerd finds in PATH like any runtime v2 shim.

#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sys/file.h"
#include "test/ctr_fixture.h"

namespace berth::test {
namespace {

constexpr char kShimPath[] = BERTH_SHIM_PATH;
constexpr char kImage[] = "berth.test/busybox:latest";
constexpr char kRuntime[] = "io.containerd.berth.v2";

class ContainerdShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A short path: containerd's sockets must fit in sun_path.
    ctd_ = dir_.Sub("c");
    const std::string bin_dir = sys::Dirname(kShimPath);
    CommandResult r = RunCommand(
        {"/usr/bin/env", absl::StrCat("PATH=", bin_dir, ":/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                                                        "/usr/bin:/sbin:/bin"),
         "/bin/bash", absl::StrCat(kSourceDir, "/test/tools/start-containerd.sh"), ctd_},
        absl::Seconds(30));
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    started_ = true;
    r = Ctr({"images", "import", TestImage("busybox-docker.tar")});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  void TearDown() override {
    for (const std::string& id : ids_) {
      Ctr({"tasks", "kill", "-s", "SIGKILL", id});
      WaitFor([&] { return !absl::StrContains(Ctr({"tasks", "ls"}).out, id + " "); },
              absl::Seconds(2));
      Ctr({"tasks", "rm", "-f", id});
      Ctr({"containers", "rm", id});
    }
    if (started_) {
      RunCommand({"/bin/bash", absl::StrCat(kSourceDir, "/test/tools/stop-containerd.sh"), ctd_},
                 absl::Seconds(30));
    }
  }
  CommandResult Ctr(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kCtrPath, "-a", ctd_ + "/containerd.sock", "-n", "berth"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(30));
  }
  std::string NewId(absl::string_view prefix) {
    ids_.push_back(absl::StrCat(prefix, "-", getpid()));
    return ids_.back();
  }

  TempDir dir_{"berth-ctd"};
  std::string ctd_;
  bool started_ = false;
  std::vector<std::string> ids_;
};

TEST_F(ContainerdShimTest, RunsExecsAndKillsThroughOurShim) {
  const std::string once = NewId("once");
  CommandResult r = Ctr({"run", "--rm", "--runtime", kRuntime, kImage, once, "sh", "-c",
                         "echo through the berth shim; exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_EQ(r.out, "through the berth shim\n") << r.Describe();

  const std::string id = NewId("long");
  r = Ctr({"run", "-d", "--runtime", kRuntime, kImage, id, "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  // The task's parent is our shim.
  r = Ctr({"tasks", "ls"});
  auto row = Row(r.out, id);
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ((*row)[2], "RUNNING");
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", (*row)[1], "/stat"));
  std::vector<std::string> fields = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  ASSERT_GE(fields.size(), 2u) << stat;
  const std::string exe = ReadFileOrEmpty(absl::StrCat("/proc/", fields[1], "/cmdline"));
  EXPECT_TRUE(absl::StrContains(exe, "containerd-shim-berth-v2")) << exe;

  r = Ctr({"tasks", "exec", "--exec-id", "x1", id, "sh", "-c", "echo exec via containerd"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "exec via containerd\n");

  ASSERT_EQ(Ctr({"tasks", "kill", "-s", "SIGKILL", id}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] {
    auto row = Row(Ctr({"tasks", "ls"}).out, id);
    return row && (*row)[2] == "STOPPED";
  }, absl::Seconds(10)));
  r = Ctr({"tasks", "rm", id});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
}

}  // namespace
}  // namespace berth::test
