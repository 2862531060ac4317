// Containers run through berthd with the real containerd 1.6 `ctr`: `ctr run` (foreground with
// its exit code, detached, stdin piped in), the task verbs (ls, ps, exec, pause, resume,
// metrics, kill, rm), and what a restart of berthd leaves running. Real runc, real shim
// (containerd-shim-berth-v2, which berthd uses for io.containerd.runc.v2).

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sys/file.h"
#include "test/ctr_fixture.h"

namespace berth::test {
namespace {

constexpr char kImage[] = "berth.test/busybox:latest";

class CtrTasksTest : public CtrTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(CtrTest::SetUp());
    CommandResult r = Ctr({"images", "import", TestImage("busybox-docker.tar")});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  void TearDown() override {
    // Whatever a failed test left: kill and delete its tasks, so no container outlives it.
    for (const std::string& id : started_) {
      Ctr({"tasks", "kill", "-s", "SIGKILL", id});
      WaitFor([&] { return !absl::StrContains(Ctr({"tasks", "ls"}).out, id + " "); },
              absl::Seconds(2));
      Ctr({"tasks", "rm", "-f", id});
      Ctr({"containers", "rm", id});
    }
    CtrTest::TearDown();
  }
  std::string NewId(absl::string_view prefix) {
    started_.push_back(UniqueName(prefix));
    return started_.back();
  }
  // The STATUS column of `ctr tasks ls` for `id`, or "" when not listed.
  std::string TaskStatus(const std::string& id) {
    CommandResult r = Ctr({"tasks", "ls"});
    auto row = Row(r.out, id);
    return row && row->size() >= 3 ? (*row)[2] : "";
  }

  std::vector<std::string> started_;
};

TEST_F(CtrTasksTest, RunRmPrintsOutputAndPropagatesTheExitCode) {
  const std::string id = NewId("run-rm");
  CommandResult r = Ctr({"run", "--rm", kImage, id, "sh", "-c", "echo hi from pid $$; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.out, "hi from pid 1\n") << r.Describe();  // the container's own pid namespace
  // --rm: the task and the container are gone.
  EXPECT_EQ(TaskStatus(id), "");
  EXPECT_FALSE(absl::StrContains(Ctr({"containers", "ls"}).out, id));
}

TEST_F(CtrTasksTest, StdinIsPipedIn) {
  const std::string id = NewId("stdin");
  std::vector<std::string> argv = {kCtrPath, "-a", daemon_.socket(), "-n", ns_, "run", "--rm",
                                   kImage,   id,   "tr",              "a-z", "A-Z"};
  CommandResult r = RunCommand(argv, absl::Seconds(30), "piped through the container\n");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "PIPED THROUGH THE CONTAINER\n") << r.Describe();
}

TEST_F(CtrTasksTest, DetachedTaskVerbs) {
  const std::string id = NewId("detached");
  CommandResult r = Ctr({"run", "-d", kImage, id, "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(TaskStatus(id), "RUNNING");

  r = Ctr({"tasks", "ps", id});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;  // header + the sleep

  r = Ctr({"tasks", "exec", "--exec-id", "e1", id, "sh", "-c", "echo exec says $((6 * 7))"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "exec says 42\n");
  r = Ctr({"tasks", "exec", "--exec-id", "e2", id, "sh", "-c", "exit 5"});
  EXPECT_EQ(r.exit_code, 5) << r.Describe();

  ASSERT_EQ(Ctr({"tasks", "pause", id}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "PAUSED");
  ASSERT_EQ(Ctr({"tasks", "resume", id}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "RUNNING");

  r = Ctr({"tasks", "metrics", id});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "memory")) << r.out;

  // A running task cannot be deleted without --force.
  r = Ctr({"tasks", "rm", id});
  EXPECT_NE(r.exit_code, 0) << r.Describe();

  ASSERT_EQ(Ctr({"tasks", "kill", "-s", "SIGKILL", id}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return TaskStatus(id) == "STOPPED"; }, absl::Seconds(10)))
      << Ctr({"tasks", "ls"}).out;
  r = Ctr({"tasks", "rm", id});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(TaskStatus(id), "");
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
}

TEST_F(CtrTasksTest, UnknownTaskAndContainerErrors) {
  CommandResult r = Ctr({"tasks", "kill", "no-such-container"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.Describe();

  const std::string id = NewId("no-task");
  ASSERT_EQ(Ctr({"containers", "create", kImage, id, "true"}).exit_code, 0);
  r = Ctr({"tasks", "kill", id});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.Describe();
}

TEST_F(CtrTasksTest, MissingShimOrRuntimeBinaryGivesAClearErrorAndLeavesNothing) {
  const std::string a = NewId("no-shim");
  CommandResult r = Ctr({"run", "--rm", "--runtime", "io.containerd.nosuch.v1", kImage, a, "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "containerd-shim-nosuch-v1")) << r.Describe();

  const std::string b = NewId("no-runc");
  r = Ctr({"run", "--rm", "--runc-binary", "/nonexistent/runc", kImage, b, "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "/nonexistent/runc")) << r.Describe();

  EXPECT_EQ(TaskStatus(a), "");
  EXPECT_EQ(TaskStatus(b), "");
  for (const std::string& id : {a, b}) {
    const std::string bundle =
        absl::StrCat(daemon_.state(), "/io.containerd.runtime.v2.task/", ns_, "/", id);
    EXPECT_NE(::access(bundle.c_str(), F_OK), 0) << bundle;
  }
}

TEST_F(CtrTasksTest, TaskSurvivesABerthdKillAndIsListedAfterRestart) {
  const std::string id = NewId("survivor");
  ASSERT_EQ(Ctr({"run", "-d", kImage, id, "sleep", "1000"}).exit_code, 0);
  ASSERT_TRUE(daemon_.Kill(SIGKILL));
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  CommandResult r = Ctr({"tasks", "exec", "--exec-id", "after", id, "echo", "still here"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "still here\n");
}

TEST_F(CtrTasksTest, TerminalThroughAPseudoTerminal) {
  // ctr -t wants a terminal on its own stdin: script(1) gives it one.
  const std::string id = NewId("tty");
  const std::string cmd = absl::StrCat(kCtrPath, " -a ", daemon_.socket(), " -n ", ns_,
                                       " run -t --rm ", kImage, " ", id,
                                       " sh -c 'tty; echo in a terminal; exit 2'");
  CommandResult r = RunCommand({"/usr/bin/script", "-qec", cmd, "/dev/null"}, absl::Seconds(30));
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "/dev/pts/0")) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "in a terminal")) << r.Describe();
}

TEST_F(CtrTasksTest, AttachAfterBerthdRestartContinuesTheStream) {
  const std::string id = NewId("attach");
  ASSERT_EQ(Ctr({"run", "-d", kImage, id, "sh", "-c",
                 "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"})
                .exit_code,
            0);
  ASSERT_TRUE(daemon_.Kill(SIGKILL));
  ASSERT_NO_FATAL_FAILURE(Restart());
  // attach streams until the task exits: read for a while, then ctr is killed.
  std::vector<std::string> argv = {kCtrPath, "-a", daemon_.socket(), "-n", ns_, "tasks", "attach",
                                   id};
  CommandResult r = RunCommand(argv, absl::Seconds(3));
  // What the FIFO buffered while nobody read, then new ticks as they come, in order: about 15
  // (3 s at 5 a second) after the restart alone.
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_GE(lines.size(), 10u) << r.Describe();
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i], absl::StrCat("tick ", std::stoi(lines[0].substr(5)) + i)) << r.out;
  }
}

TEST_F(CtrTasksTest, KilledShimIsCleanedUpAndItsTaskReportedGone) {
  const std::string id = NewId("shim-killed");
  ASSERT_EQ(Ctr({"run", "-d", kImage, id, "sleep", "1000"}).exit_code, 0);
  auto row = Row(Ctr({"tasks", "ls"}).out, id);
  ASSERT_TRUE(row.has_value());
  const pid_t task_pid = std::stoi((*row)[1]);
  const std::string stat = ReadFileOrEmpty(absl::StrCat("/proc/", task_pid, "/stat"));
  std::vector<std::string> fields = absl::StrSplit(stat.substr(stat.rfind(')') + 2), ' ');
  ASSERT_GE(fields.size(), 2u) << stat;
  const pid_t shim_pid = std::stoi(fields[1]);
  ASSERT_TRUE(absl::StrContains(ReadFileOrEmpty(absl::StrCat("/proc/", shim_pid, "/cmdline")),
                                "containerd-shim-berth-v2"));
  ASSERT_EQ(::kill(shim_pid, SIGKILL), 0);

  // berthd notices the connection drop, runs the shim's `delete` (which kills the container)
  // and forgets the task; its bundle (with the rootfs mount) is gone.
  EXPECT_TRUE(WaitFor([&] { return TaskStatus(id).empty(); }, absl::Seconds(10)))
      << Ctr({"tasks", "ls"}).out;
  EXPECT_TRUE(WaitFor([&] { return ::kill(task_pid, 0) != 0; }, absl::Seconds(10)));
  const std::string bundle =
      absl::StrCat(daemon_.state(), "/io.containerd.runtime.v2.task/", ns_, "/", id);
  EXPECT_TRUE(WaitFor([&] { return ::access(bundle.c_str(), F_OK) != 0; }, absl::Seconds(10)));
  EXPECT_FALSE(absl::StrContains(ReadFileOrEmpty("/proc/self/mountinfo"), bundle));
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
}

// The exit's /tasks/exit event, queued by the shim while nobody listened, is delivered once a
// receiver is back: shim_test checks that with its own receiver.
TEST_F(CtrTasksTest, ExitWhileBerthdIsDownShowsAsStoppedAfterRestart) {
  const std::string id = NewId("exits-alone");
  ASSERT_EQ(Ctr({"run", "-d", kImage, id, "sleep", "1"}).exit_code, 0);
  ASSERT_TRUE(daemon_.Kill(SIGKILL));
  absl::SleepFor(absl::Seconds(2));  // the container exits while nobody listens
  ASSERT_NO_FATAL_FAILURE(Restart());
  EXPECT_TRUE(WaitFor([&] { return TaskStatus(id) == "STOPPED"; }, absl::Seconds(10)));
  CommandResult r = Ctr({"tasks", "rm", id});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

}  // namespace
}  // namespace berth::test

namespace berth::test {
namespace {

// The same container verbs with crun as the OCI runtime (`ctr run --runc-binary crun`, which
// the shim receives as containerd.runc.v1.Options.binary_name).
class CtrCrunTest : public CtrTasksTest {
 protected:
  void SetUp() override {
    if (::access("/usr/bin/crun", X_OK) != 0) GTEST_SKIP() << "crun is not installed";
    daemon_.set_wrapper(PrivateMountNamespaceWithoutCgroup2());
    ASSERT_NO_FATAL_FAILURE(CtrTasksTest::SetUp());
  }
};

TEST_F(CtrCrunTest, RunRmAndDetachedVerbs) {
  const std::string once = NewId("crun-rm");
  CommandResult r = Ctr({"run", "--rm", "--runc-binary", "crun", kImage, once, "sh", "-c",
                         "echo crun says hi; exit 6"});
  EXPECT_EQ(r.exit_code, 6) << r.Describe();
  EXPECT_EQ(r.out, "crun says hi\n");

  const std::string id = NewId("crun-d");
  ASSERT_EQ(Ctr({"run", "-d", "--runc-binary", "crun", kImage, id, "sleep", "1000"}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "RUNNING");
  r = Ctr({"tasks", "exec", "--exec-id", "c1", id, "echo", "exec under crun"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "exec under crun\n");
  ASSERT_EQ(Ctr({"tasks", "pause", id}).exit_code, 0);
  EXPECT_EQ(TaskStatus(id), "PAUSED");
  ASSERT_EQ(Ctr({"tasks", "resume", id}).exit_code, 0);
  ASSERT_EQ(Ctr({"tasks", "kill", "-s", "SIGKILL", id}).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return TaskStatus(id) == "STOPPED"; }, absl::Seconds(10)));
  EXPECT_EQ(Ctr({"tasks", "rm", id}).exit_code, 0);
  EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);
}

// Live shims serving `id` (their command line names it after -id).
std::vector<pid_t> ShimsFor(const std::string& id) {
  std::vector<pid_t> pids;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return pids;
  while (struct dirent* e = ::readdir(proc)) {
    int pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::vector<std::string> argv = absl::StrSplit(
        ReadFileOrEmpty(absl::StrCat("/proc/", pid, "/cmdline")), '\0', absl::SkipEmpty());
    if (argv.empty() || !absl::EndsWith(argv[0], "containerd-shim-berth-v2")) continue;
    for (size_t i = 0; i + 1 < argv.size(); ++i) {
      if (argv[i] == "-id" && argv[i + 1] == id) pids.push_back(pid);
    }
  }
  ::closedir(proc);
  return pids;
}

// berthd killed -9 while the OCI runtime is in the middle of `create`, `start` or `delete` (a
// wrapper around crun pauses there for 2 s; runc's start and delete are done by the shim
// itself, so crun is the runtime with those windows). After the restart the task is listed in
// the state the shim reached and can be removed, or it is gone; either way no shim, mount,
// cgroup or bundle is left once it is removed.
TEST_F(CtrCrunTest, BerthdKilledMidCreateStartOrDeleteLeavesNothingBehind) {
  struct Case {
    const char* name;
    const char* command;       // the runtime command berthd dies in
    bool with_stdio;  // ctr run --rm (stdio FIFOs, which go when ctr dies) or --null-io
    const char* status_after;  // "" = gone
  };
  for (const Case& c : {
           // The client died with berthd, and its FIFOs with it: the shim's create fails.
           Case{"create", "create", true, ""},
           // No stdio: the create completes, the task waits, created, for someone to use it.
           Case{"create-detached", "create", false, "CREATED"},
           Case{"start", "start", true, "RUNNING"},
           Case{"delete", "delete", false, ""},
       }) {
    SCOPED_TRACE(c.name);
    const std::string id = NewId(absl::StrCat("killed-mid-", c.name));
    const std::string mark = daemon_.dir() + "/" + id + ".paused";
    const std::string wrapper = daemon_.dir() + "/" + id + "-runtime";
    ASSERT_TRUE(sys::WriteFile(wrapper,
                               absl::StrCat("#!/bin/sh\ncase \" $* \" in *\" ", c.command,
                                            " \"*) : > ", mark, "; sleep 2;; esac\n",
                                            "exec /usr/bin/crun \"$@\"\n"),
                               0755)
                    .ok());
    std::vector<std::string> argv = {kCtrPath, "-a", daemon_.socket(), "-n", ns_};
    if (std::string(c.command) == "delete") {
      ASSERT_EQ(Ctr({"run", "-d", "--runc-binary", wrapper, kImage, id, "true"}).exit_code, 0);
      ASSERT_TRUE(WaitFor([&] { return TaskStatus(id) == "STOPPED"; }, absl::Seconds(10)));
      argv.insert(argv.end(), {"tasks", "rm", id});
    } else {
      argv.insert(argv.end(), {"run", c.with_stdio ? "--rm" : "--null-io", "--runc-binary",
                               wrapper, kImage, id, "sleep", "1000"});
    }
    auto client = Process::Spawn(argv, "", "");
    ASSERT_TRUE(client.ok()) << client.status();
    ASSERT_TRUE(WaitFor([&] { return ::access(mark.c_str(), F_OK) == 0; }, absl::Seconds(20)))
        << "the runtime never reached " << c.command;
    ASSERT_TRUE(daemon_.Kill(SIGKILL));
    (void)(*client)->Wait(absl::Seconds(10));  // it loses its daemon
    ASSERT_NO_FATAL_FAILURE(Restart());
    // The shim finishes the runtime's command meanwhile; berthd shows what it came to.
    EXPECT_TRUE(WaitFor([&] { return TaskStatus(id) == c.status_after; }, absl::Seconds(10)))
        << Ctr({"tasks", "ls"}).out;
    if (*c.status_after != '\0') {
      Ctr({"tasks", "kill", "-s", "SIGKILL", id});
      EXPECT_EQ(Ctr({"tasks", "rm", "-f", id}).exit_code, 0);
    }
    EXPECT_EQ(Ctr({"containers", "rm", id}).exit_code, 0);

    const std::string bundle =
        absl::StrCat(daemon_.state(), "/io.containerd.runtime.v2.task/", ns_, "/", id);
    EXPECT_TRUE(WaitFor([&] { return ShimsFor(id).empty(); }, absl::Seconds(10)))
        << "shim still running";
    EXPECT_NE(::access(bundle.c_str(), F_OK), 0) << bundle;
    // berthd (and so its shims) live in a private mount namespace: look there.
    EXPECT_FALSE(absl::StrContains(
        ReadFileOrEmpty(absl::StrCat("/proc/", daemon_.pid(), "/mountinfo")), id));
    for (const char* controller : {"memory", "pids", "cpu"}) {
      const std::string cgroup = absl::StrCat("/sys/fs/cgroup/", controller, "/", ns_, "/", id);
      EXPECT_NE(::access(cgroup.c_str(), F_OK), 0) << cgroup;
    }
  }
}

}  // namespace
}  // namespace berth::test
