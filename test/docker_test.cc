// dockerd 20.10 (Debian's docker.io) using berthd as its containerd (`--containerd=SOCK`).
// dockerd is fully isolated: its own data root, exec root, pidfile, API socket, config file and
// CLI config under a temp dir, no networking, and containerd namespaces unique to the test.
// It is stopped by PID and anything it mounted under its temp dir is unmounted before removal.
// (dockerd still registers its API socket's group and may touch /run/docker/plugins; nothing of
// containerd's /run/containerd or /var/lib/containerd is used.)

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/events.h"
#include "client/introspection.h"
#include "client/namespaces.h"
#include "client/version.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "test/api_helpers.h"
#include "test/ctr_fixture.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

constexpr char kDockerd[] = "/usr/sbin/dockerd";
// Debian's 20.10 CLI; /usr/local/bin/docker may be a newer one.
constexpr char kDocker[] = "/usr/bin/docker";

// One dockerd on its own temp dir, pointed at a berthd socket.
class Dockerd {
 public:
  Dockerd(std::string containerd_socket, std::string ns)
      : containerd_(std::move(containerd_socket)), ns_(std::move(ns)) {
    // Without deprecated-key-path dockerd 20.10 writes its trust key to /etc/docker/key.json.
    WriteFileOrDie(dir_.Sub("daemon.json"),
                   absl::StrCat("{\"deprecated-key-path\": \"", dir_.Sub("key.json"), "\"}\n"));
    mkdir(dir_.Sub("cli").c_str(), 0700);
  }

  ~Dockerd() {
    if (process_ && process_->Running()) {
      process_->Signal(SIGTERM);
      if (!process_->Wait(absl::Seconds(20))) {
        process_->Signal(SIGKILL);
        process_->Wait(absl::Seconds(10));
      }
    }
    process_.reset();
    // TempDir's destructor unmounts whatever dockerd left below dir_ and removes it.
  }

  // Starts dockerd with `driver` and waits (30 s) until `docker version` answers.
  ::testing::AssertionResult Start(const std::string& driver) {
    driver_ = driver;
    std::vector<std::string> argv = {
        kDockerd,
        "--containerd=" + containerd_,
        "--containerd-namespace=" + ns_,
        "--containerd-plugins-namespace=" + ns_ + "-plugins",
        "--data-root=" + dir_.Sub("data-" + driver),
        "--exec-root=" + dir_.Sub("exec"),
        "--pidfile=" + dir_.Sub("docker.pid"),
        "--config-file=" + dir_.Sub("daemon.json"),
        "-H",
        "unix://" + socket(),
        "--bridge=none",
        "--iptables=false",
        "--ip6tables=false",
        "--ip-masq=false",
        "--storage-driver=" + driver,
        "--debug",
    };
    // SIGTERM if the test dies: dockerd then unmounts what it mounted under dir_.
    auto p = Process::Spawn(argv, log_path(), log_path(), SIGTERM);
    if (!p.ok()) return ::testing::AssertionFailure() << p.status();
    process_ = std::move(*p);
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (!process_->Running()) {
        return ::testing::AssertionFailure()
               << "dockerd (" << driver << ") exited with "
               << DescribeWaitStatus(*process_->status()) << "; log:\n"
               << Log();
      }
      struct stat st;
      if (stat(socket().c_str(), &st) == 0 && Docker({"version"}).exit_code == 0) {
        return ::testing::AssertionSuccess();
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    return ::testing::AssertionFailure() << "dockerd did not answer within 30 s; log:\n" << Log();
  }

  CommandResult Docker(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env", "DOCKER_CONFIG=" + dir_.Sub("cli"), kDocker,
                                     "-H", "unix://" + socket()};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(30));
  }

  std::string socket() const { return dir_.Sub("docker.sock"); }
  std::string log_path() const { return dir_.Sub("dockerd.log"); }
  std::string Log() const {
    std::string log = ReadFileOrEmpty(log_path());
    if (log.size() > 20000) log = "...\n" + log.substr(log.size() - 20000);
    return log;
  }
  const std::string& driver() const { return driver_; }
  std::string Sub(absl::string_view name) const { return dir_.Sub(name); }
  Process* process() { return process_.get(); }

 private:
  TempDir dir_{"berth-docker"};
  std::string containerd_;
  std::string ns_;
  std::string driver_;
  std::unique_ptr<Process> process_;
};

class DockerTest : public DaemonTest {
 protected:
  void SetUp() override {
    struct stat st;
    if (stat(kDockerd, &st) != 0 || stat(kDocker, &st) != 0) {
      GTEST_FAIL() << "dockerd/docker missing (apt install docker.io; scripts/setup.sh)";
    }
    DaemonTest::SetUp();
    if (HasFatalFailure()) return;
    dockerd_ = std::make_unique<Dockerd>(daemon_.socket(), ns_);
    // overlay2 where the kernel and /tmp allow it, vfs otherwise.
    ::testing::AssertionResult started = dockerd_->Start("overlay2");
    if (!started) {
      std::string overlay_failure = started.message();
      dockerd_ = std::make_unique<Dockerd>(daemon_.socket(), ns_);
      started = dockerd_->Start("vfs");
      ASSERT_TRUE(started) << "\n(overlay2 attempt: " << overlay_failure << ")";
    }
  }

  void TearDown() override {
    if (HasFailure() && dockerd_) {
      std::cerr << "---- dockerd log ----\n" << dockerd_->Log() << "----\n";
    }
    dockerd_.reset();  // stops dockerd before berthd goes away
    DaemonTest::TearDown();
  }

  // Publishes a TaskExit for `container` on /tasks/exit in namespace `ns`.
  void PublishTaskExit(const std::string& ns, const std::string& container) {
    auto c = daemon_.NewClient(ns);
    containerd::events::TaskExit ev;
    ev.set_container_id(container);
    ev.set_id(container);
    ev.set_pid(42);
    ev.set_exit_status(3);
    absl::Status s = client::PublishEvent(
        *c, "/tasks/exit", MakeAny("containerd.events.TaskExit", ev.SerializeAsString()));
    ASSERT_TRUE(s.ok()) << s;
  }

  // True once dockerd's debug log shows it received a /tasks/exit event for `container` in its
  // namespace (dockerd learns of container exits only from these events).
  bool DockerdSawTaskExit(const std::string& container, absl::Duration timeout) {
    return WaitFor(
        [&] {
          for (absl::string_view line : absl::StrSplit(dockerd_->Log(), '\n')) {
            if (absl::StrContains(line, "could not find container " + container)) return true;
          }
          return false;
        },
        timeout, absl::Milliseconds(100));
  }

  std::unique_ptr<Dockerd> dockerd_;
};

TEST_F(DockerTest, DockerdStartsAndReportsBerthAsContainerd) {
  CommandResult r = dockerd_->Docker(
      {"version", "--format",
       "{{range .Server.Components}}{{.Name}}={{.Version}}={{index .Details \"GitCommit\"}}\n"
       "{{end}}"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto v = client::GetVersion(*client_);
  ASSERT_TRUE(v.ok());
  std::vector<std::string> components = absl::StrSplit(r.out, '\n', absl::SkipWhitespace());
  EXPECT_NE(
      std::find(components.begin(), components.end(), "containerd=v0.1.0-berth=" + v->revision()),
      components.end())
      << "docker version does not show berth as containerd:\n"
      << r.out;

  // The human-readable form, as a user reads it.
  r = dockerd_->Docker({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  size_t at = r.out.find(" containerd:");
  ASSERT_NE(at, std::string::npos) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out.substr(at, 120), "v0.1.0-berth")) << r.out;
}

TEST_F(DockerTest, DockerInfoAndPsWork) {
  CommandResult r = dockerd_->Docker({"info", "--format", "{{.ContainerdCommit.ID}}|{{.Driver}}"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto v = client::GetVersion(*client_);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(std::string(absl::StripTrailingAsciiWhitespace(r.out)),
            v->revision() + "|" + dockerd_->driver());

  // Isolation: dockerd's trust key went to its temp dir, not /etc/docker.
  struct stat st;
  EXPECT_EQ(stat(dockerd_->Sub("key.json").c_str(), &st), 0);

  r = dockerd_->Docker({"ps", "-a", "-q"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StripAsciiWhitespace(r.out).empty()) << r.out;

  // dockerd stays up and connected: its log shows no containerd-related errors so far.
  EXPECT_TRUE(dockerd_->process()->Running());
  std::string log = dockerd_->Log();
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    if ((absl::StrContains(line, "level=error") || absl::StrContains(line, "level=fatal")) &&
        absl::StrContains(line, "containerd")) {
      ADD_FAILURE() << "dockerd logged an error: " << line;
    }
  }
}

TEST_F(DockerTest, DockerdReceivesTaskExitEventsOfItsNamespaceOnly) {
  // dockerd subscribes with "namespace==<ns>,topic~=|^/tasks/|" (and one for its plugins
  // namespace). An exit for a container it does not know makes it log "could not find container".
  PublishTaskExit(ns_ + "-other", "in-other-namespace");
  PublishTaskExit(ns_, "in-its-namespace");
  EXPECT_TRUE(DockerdSawTaskExit("in-its-namespace", absl::Seconds(10)))
      << "dockerd never received the /tasks/exit event";
  EXPECT_FALSE(DockerdSawTaskExit("in-other-namespace", absl::Milliseconds(300)))
      << "dockerd received an event of another namespace";
}

TEST_F(DockerTest, DockerdKeepsWorkingAcrossABerthdRestart) {
  // `systemctl restart berth` under a running dockerd: dockerd's gRPC channel reconnects.
  client_.reset();
  absl::Time stop_start = absl::Now();
  ASSERT_TRUE(daemon_.Stop());
  const absl::Duration stop_took = absl::Now() - stop_start;
  // dockerd's connections are Go clients that answer a GOAWAY at once.
  EXPECT_LT(stop_took, absl::Seconds(3)) << "berthd took " << stop_took << " to stop under dockerd";
  ASSERT_TRUE(daemon_.Start());
  client_ = daemon_.NewClient(ns_);
  absl::Time restart = absl::Now();
  bool back = WaitFor(
      [&] {
        CommandResult r = dockerd_->Docker(
            {"version", "--format", "{{range .Server.Components}}{{.Name}}={{.Version}} {{end}}"});
        return r.exit_code == 0 && absl::StrContains(r.out, "containerd=v0.1.0-berth");
      },
      absl::Seconds(20), absl::Milliseconds(500));
  EXPECT_TRUE(back) << "docker version never showed berth again after the restart";
  std::cout << "berthd stop under dockerd took " << stop_took << "; dockerd reconnected after "
            << (absl::Now() - restart) << "\n";
  EXPECT_TRUE(dockerd_->process()->Running()) << "dockerd died with its containerd restart";
  // dockerd re-subscribed to events: without that it would never see a container exit again.
  bool resubscribed = WaitFor(
      [&] {
        PublishTaskExit(ns_, "after-restart");
        return DockerdSawTaskExit("after-restart", absl::Milliseconds(500));
      },
      absl::Seconds(20), absl::Milliseconds(10));
  EXPECT_TRUE(resubscribed) << "dockerd did not resubscribe to berthd's events after the restart";
}

TEST_F(DockerTest, RunsAContainerWhenTasksAreServed) {
  // docker run needs containerd's Tasks service (dockerd 20.10 keeps images and rootfs in its
  // own graph driver and hands containerd a container plus a task). Until berthd serves Tasks,
  // docker run fails with "not implemented" from Tasks/Create: skip rather than fail.
  auto tasks = client::ListPlugins(*client_, {"type==io.containerd.grpc.v1,id==tasks"});
  ASSERT_TRUE(tasks.ok()) << tasks.status();
  if (tasks->empty()) GTEST_SKIP() << "berthd does not serve containerd.services.tasks.v1 yet";

  // A one-file image: the statically linked tini that docker.io ships as docker-init.
  const std::string rootfs = dockerd_->Sub("rootfs");
  ASSERT_EQ(mkdir(rootfs.c_str(), 0755), 0);
  CommandResult r = RunCommand({"/bin/cp", "-L", "/usr/bin/docker-init", rootfs + "/tini"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string tar = dockerd_->Sub("image.tar");
  r = RunCommand({"/bin/tar", "-C", rootfs, "-cf", tar, "."});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = dockerd_->Docker({"import", tar, "berth-static:1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = dockerd_->Docker(
      {"run", "--rm", "--network", "none", "berth-static:1", "/tini", "--version"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "tini version")) << r.out;
}

TEST_F(DockerTest, ContainerLifecycleVerbs) {
  CommandResult r = dockerd_->Docker({"load", "-i", TestImage("busybox-docker.tar")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const std::string image = "berth.test/busybox:latest";

  r = dockerd_->Docker({"run", "--rm", "--network", "none", image, "sh", "-c", "echo hi; exit 0"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "hi\n");
  r = dockerd_->Docker({"run", "--rm", "--network", "none", image, "sh", "-c", "exit 9"});
  EXPECT_EQ(r.exit_code, 9) << r.Describe();

  const std::string name = UniqueName("bb");
  r = dockerd_->Docker({"run", "-d", "--network", "none", "--name", name, image, "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = dockerd_->Docker({"exec", name, "sh", "-c", "echo exec $((2 + 3))"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "exec 5\n");
  r = dockerd_->Docker({"top", name});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "sleep 1000")) << r.out;
  EXPECT_EQ(dockerd_->Docker({"pause", name}).exit_code, 0);
  r = dockerd_->Docker({"inspect", "-f", "{{.State.Status}}", name});
  EXPECT_EQ(r.out, "paused\n") << r.Describe();
  EXPECT_EQ(dockerd_->Docker({"unpause", name}).exit_code, 0);
  r = dockerd_->Docker({"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}", name});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, name)) << r.out;
  r = dockerd_->Docker({"stop", "-t", "1", name});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  r = dockerd_->Docker({"inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", name});
  EXPECT_EQ(r.out, "exited 137\n") << r.Describe();  // sleep as pid 1 ignores SIGTERM
  EXPECT_EQ(dockerd_->Docker({"rm", name}).exit_code, 0);
}

}  // namespace
}  // namespace berth::test
