#include "shim/runc_native.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sys/file.h"

namespace berth::shim::runc_native {
namespace {

// A state.json as runc 1.1 writes it for a container ctr would run (the parts that matter).
nlohmann::json RuncState() {
  return {
      {"id", "c1"},
      {"init_process_pid", 4242},
      {"config",
       {{"namespaces",
         {{{"type", "NEWPID"}, {"path", ""}}, {{"type", "NEWNS"}, {"path", ""}}}},
        {"cgroups", {{"path", "/ns/c1"}, {"Systemd", false}}},
        {"Hooks", nullptr}}},
      {"cgroup_paths",
       {{"memory", "/sys/fs/cgroup/memory/ns/c1"}, {"", "/sys/fs/cgroup/unified/ns/c1"}}},
      {"intel_rdt_path", ""},
  };
}

bool Deletable(const nlohmann::json& state, std::vector<std::string>* paths = nullptr) {
  std::vector<std::string> ignored;
  return ParseDeletableState(state.dump(), paths != nullptr ? paths : &ignored);
}

TEST(RuncNativeTest, AStoppedRuncContainerIsDeletedInTheShim) {
  std::vector<std::string> paths;
  ASSERT_TRUE(Deletable(RuncState(), &paths));
  EXPECT_EQ(paths, (std::vector<std::string>{"/sys/fs/cgroup/unified/ns/c1",
                                             "/sys/fs/cgroup/memory/ns/c1"}));
  nlohmann::json no_cgroups = RuncState();
  no_cgroups["cgroup_paths"] = nullptr;
  ASSERT_TRUE(Deletable(no_cgroups, &paths));
  EXPECT_TRUE(paths.empty());
  nlohmann::json empty_poststop = RuncState();
  empty_poststop["config"]["Hooks"] = {{"poststop", nlohmann::json::array()}};
  EXPECT_TRUE(Deletable(empty_poststop));
}

TEST(RuncNativeTest, EverythingElseGoesToTheRuntime) {
  nlohmann::json shared_pid = RuncState();
  shared_pid["config"]["namespaces"][0]["path"] = "/proc/1/ns/pid";
  EXPECT_FALSE(Deletable(shared_pid)) << "processes may remain: runc kills them";
  nlohmann::json host_pid = RuncState();
  host_pid["config"]["namespaces"].erase(0);
  EXPECT_FALSE(Deletable(host_pid));
  nlohmann::json systemd = RuncState();
  systemd["config"]["cgroups"]["Systemd"] = true;
  EXPECT_FALSE(Deletable(systemd));
  nlohmann::json hooks = RuncState();
  hooks["config"]["Hooks"] = {{"poststop", {{{"path", "/bin/true"}}}}};
  EXPECT_FALSE(Deletable(hooks));
  nlohmann::json rdt = RuncState();
  rdt["intel_rdt_path"] = "/sys/fs/resctrl/c1";
  EXPECT_FALSE(Deletable(rdt));
  nlohmann::json outside = RuncState();
  outside["cgroup_paths"]["memory"] = "/etc";
  EXPECT_FALSE(Deletable(outside));
  nlohmann::json climbing = RuncState();
  climbing["cgroup_paths"]["memory"] = "/sys/fs/cgroup/../../etc";
  EXPECT_FALSE(Deletable(climbing));
  nlohmann::json no_config = RuncState();
  no_config.erase("config");
  EXPECT_FALSE(Deletable(no_config));
  std::vector<std::string> paths = {"untouched"};
  EXPECT_FALSE(ParseDeletableState("{not json", &paths));
  EXPECT_FALSE(ParseDeletableState("[]", &paths));
  EXPECT_EQ(paths, std::vector<std::string>{"untouched"});
}

TEST(RuncNativeTest, StateDirectoriesOfOtherRuntimesAreLeftToThem) {
  char templ[] = "/tmp/runc-native-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  std::string dir = templ;
  // crun keeps `status`, not state.json; and a runc container already started has no fifo.
  ASSERT_TRUE(sys::WriteFile(dir + "/status", "{}", 0600).ok());
  ASSERT_EQ(::mkfifo((dir + "/exec.fifo").c_str(), 0600), 0);
  auto started = Start(dir, ::getpid());
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_FALSE(*started);
  auto deleted = DeleteStopped(dir);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_FALSE(*deleted);
  struct stat st;
  EXPECT_EQ(::stat((dir + "/exec.fifo").c_str(), &st), 0) << "a runtime's file was touched";
  // runc's files, but poststart hooks: `runc start` runs (in case it runs them).
  nlohmann::json hooked = RuncState();
  hooked["config"]["Hooks"] = {{"poststart", {{{"path", "/bin/true"}}}}};
  ASSERT_TRUE(sys::WriteFile(dir + "/state.json", hooked.dump(), 0600).ok());
  started = Start(dir, ::getpid());
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_FALSE(*started);
  EXPECT_EQ(::stat((dir + "/exec.fifo").c_str(), &st), 0);
  // A runc state whose container keeps its host pid namespace: left to runc, files intact.
  nlohmann::json state = RuncState();
  state["config"]["namespaces"].erase(0);
  ASSERT_TRUE(sys::WriteFile(dir + "/state.json", state.dump(), 0600).ok());
  deleted = DeleteStopped(dir);
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(*deleted);
  EXPECT_EQ(::stat((dir + "/state.json").c_str(), &st), 0);
  // A deletable one: the state directory goes (its cgroups do not exist here: nothing to do).
  state = RuncState();
  state["cgroup_paths"] = nullptr;
  ASSERT_TRUE(sys::WriteFile(dir + "/state.json", state.dump(), 0600).ok());
  deleted = DeleteStopped(dir);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(*deleted);
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
  (void)sys::RemoveAll(dir);
}

// A stand-in for runc's init after `runc create`: blocks opening exec.fifo for writing, writes
// "0" once released, and exits (where runc's init would exec the user's process).
pid_t FakeInit(const std::string& fifo, bool write) {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!write) ::_exit(0);
    int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(1);
    ::_exit(0);
  }
  return pid;
}

TEST(RuncNativeTest, StartReleasesTheInitThroughTheFifo) {
  char templ[] = "/tmp/runc-native-XXXXXX";
  ASSERT_NE(::mkdtemp(templ), nullptr);
  std::string dir = templ;
  std::string fifo = dir + "/exec.fifo";
  ASSERT_TRUE(sys::WriteFile(dir + "/state.json", RuncState().dump(), 0600).ok());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  pid_t init = FakeInit(fifo, /*write=*/true);
  auto started = Start(dir, init);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_TRUE(*started);
  int status = 0;
  ASSERT_EQ(::waitpid(init, &status, 0), init);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the init wrote its byte";
  struct stat st;
  EXPECT_NE(::stat(fifo.c_str(), &st), 0) << "the fifo goes, as runc start removes it";

  // An init that died before taking the fifo: runc's error, not a hang.
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  init = FakeInit(fifo, /*write=*/false);
  started = Start(dir, init);  // the init is a zombie until reaped below
  EXPECT_EQ(started.status().message(), "container process is already dead");
  ASSERT_EQ(::waitpid(init, &status, 0), init);
  (void)sys::RemoveAll(dir);
}

}  // namespace
}  // namespace berth::shim::runc_native
