#include "shim/runc.h"

#include <stdlib.h>

#include "gtest/gtest.h"
#include "sys/file.h"

namespace berth::shim {
namespace {

TEST(LastRuntimeErrorTest, TakesTheLastErrorEntry) {
  std::string log =
      R"({"level":"info","msg":"starting","time":"2024-01-01T00:00:00Z"})"
      "\n"
      R"({"level":"error","msg":"first failure","time":"2024-01-01T00:00:01Z"})"
      "\n"
      "garbage that is not json\n"
      R"({"level":"error","msg":"  runc create failed: unable to start container process: )"
      R"(exec: \"nope\": executable file not found in $PATH \n","time":"2024-01-01T00:00:02Z"})"
      "\n"
      R"({"level":"warning","msg":"later warning"})"
      "\n";
  EXPECT_EQ(LastRuntimeError(log),
            "runc create failed: unable to start container process: exec: \"nope\": executable "
            "file not found in $PATH");
  EXPECT_EQ(LastRuntimeError(""), "");
  EXPECT_EQ(LastRuntimeError(R"({"level":"info","msg":"fine"})"), "");
}

TEST(KillErrorTest, MapsLikeContainerd) {
  absl::Status st = KillError(absl::UnknownError("container not running"));
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "process already finished: not found");
  EXPECT_EQ(KillError(absl::UnknownError("kill: No Such Process")).code(),
            absl::StatusCode::kNotFound);
  st = KillError(absl::UnknownError("container \"x\" does not exist"));
  EXPECT_EQ(st.message(), "no such container: not found");
  st = KillError(absl::UnknownError("permission denied"));
  EXPECT_EQ(st.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(st.message(), "unknown error after kill: permission denied");
  EXPECT_TRUE(KillError(absl::OkStatus()).ok());
}

// A fake runtime: a shell script that logs its arguments and fails like runc does.
class FakeRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/shim-runc-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    script_ = dir_ + "/fake-runc";
    ASSERT_TRUE(sys::WriteFile(script_,
                               "#!/bin/sh\n"
                               "echo \"$@\" >> " +
                                   dir_ +
                                   "/args\n"
                                   "for last; do :; done\n"
                                   "case \"$*\" in\n"
                                   "  *' ps '*) echo '[1,22,333]'; exit 0;;\n"
                                   "  *' kill '*) echo 'container not running' >&2; exit 1;;\n"
                                   "  *' start '*) echo '{\"level\":\"error\",\"msg\":\"boom from "
                                   "log\"}' >> " +
                                   dir_ +
                                   "/log.json; exit 1;;\n"
                                   "  *' update '*) cat > " +
                                   dir_ +
                                   "/stdin; exit 0;;\n"
                                   "esac\n"
                                   "exit 0\n",
                               0755)
                    .ok());
  }
  void TearDown() override { (void)sys::RemoveAll(dir_); }
  Runc MakeRunc() {
    RuncConfig config;
    config.binary = script_;
    config.root = dir_ + "/root/ns";
    config.log_path = dir_ + "/log.json";
    config.systemd_cgroup = true;
    return Runc(config);
  }
  std::string dir_;
  std::string script_;
};

TEST_F(FakeRuntimeTest, GlobalFlagsAndCommands) {
  Runc runc = MakeRunc();
  ASSERT_TRUE(runc.Delete("c1", true).ok());
  auto pids = runc.Ps("c1");
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(*pids, (std::vector<int>{1, 22, 333}));
  ASSERT_TRUE(runc.Update("c1", R"({"pids":{"limit":10}})").ok());
  EXPECT_EQ(*sys::ReadFile(dir_ + "/stdin"), R"({"pids":{"limit":10}})");
  std::string args = *sys::ReadFile(dir_ + "/args");
  std::string prefix =
      "--root " + dir_ + "/root/ns --log " + dir_ + "/log.json --log-format json --systemd-cgroup ";
  EXPECT_NE(args.find(prefix + "delete --force c1\n"), std::string::npos) << args;
  EXPECT_NE(args.find(prefix + "ps --format json c1\n"), std::string::npos) << args;
  EXPECT_NE(args.find(prefix + "update --resources - c1\n"), std::string::npos) << args;
}

TEST_F(FakeRuntimeTest, ErrorsComeFromTheLogOrStderr) {
  Runc runc = MakeRunc();
  absl::Status st = runc.Start("c1", /*init_pid=*/1);
  EXPECT_EQ(st.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(st.message(), "boom from log");
  st = runc.Kill("c1", 9, true);
  EXPECT_EQ(st.message(), "container not running");
  EXPECT_EQ(KillError(st).code(), absl::StatusCode::kNotFound);
  // A second failure does not repeat the first one's log message.
  st = runc.Kill("c1", 15, false);
  EXPECT_EQ(st.message(), "container not running");
}

TEST(RuncTest, MissingBinaryIsAClearError) {
  RuncConfig config;
  config.binary = "definitely-not-a-runtime-binary";
  config.root = "/tmp/none";
  Runc runc(config);
  absl::Status st = runc.Start("c1", /*init_pid=*/1);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("executable file not found in $PATH"), std::string::npos) << st;
}

}  // namespace
}  // namespace berth::shim
