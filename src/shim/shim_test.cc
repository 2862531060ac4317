// Integration test: the real containerd-shim-berth-v2 binary driving real runc on a busybox
// bundle, through our ttrpc client, with a ttrpc Events server standing in for the daemon.
// Needs root, runc and /bin/busybox (busybox-static); skipped otherwise.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/time.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/empty.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sys/event_loop.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/mount.h"
#include "sys/process.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"

namespace berth::shim {
namespace {

namespace task = ::containerd::task::v2;
using Envelope = ::containerd::services::events::ttrpc::v1::Envelope;

constexpr char kNs[] = "shimtest";
constexpr char kTask[] = "containerd.task.v2.Task";

std::string RuncPath() {
  for (const char* p : {"/usr/sbin/runc", "/usr/bin/runc"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return "";
}

bool IsMounted(const std::string& path) {
  auto info = sys::ReadFile("/proc/self/mountinfo");
  if (!info.ok()) return false;
  for (absl::string_view line : absl::StrSplit(*info, '\n')) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
    if (fields.size() > 4 && fields[4] == path) return true;
  }
  return false;
}

bool Alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

// Stands in for the daemon's ttrpc Events service: records what the shim forwards.
class EventReceiver {
 public:
  explicit EventReceiver(const std::string& path) {
    loop_ = *sys::EventLoop::Create();
    server_ = std::make_unique<ttrpc::Server>(loop_.get());
    server_->Register("containerd.services.events.ttrpc.v1.Events", "Forward",
                      [this](std::shared_ptr<ttrpc::Call> call) {
                        ::containerd::services::events::ttrpc::v1::ForwardRequest req;
                        EXPECT_TRUE(req.ParseFromString(call->payload()));
                        EXPECT_EQ(call->Metadata(ttrpc::kNamespaceKey), kNs);
                        {
                          absl::MutexLock lock(&mu_);
                          events_.push_back(req.envelope());
                        }
                        call->Reply(google::protobuf::Empty());
                      });
    auto listener = ttrpc::ListenUnix(path);
    EXPECT_TRUE(listener.ok()) << listener.status();
    EXPECT_TRUE(server_->Serve(*std::move(listener)).ok());
    thread_ = std::thread([this]() { (void)loop_->Run(); });
  }
  ~EventReceiver() {
    loop_->Post([this]() {
      server_.reset();
      loop_->Stop();
    });
    thread_.join();
  }

  std::vector<Envelope> events() {
    absl::MutexLock lock(&mu_);
    return events_;
  }
  std::vector<std::string> Topics() {
    std::vector<std::string> topics;
    for (const Envelope& e : events()) topics.push_back(e.topic());
    return topics;
  }
  // Waits until an event with `topic` arrived; returns it.
  std::optional<Envelope> WaitFor(const std::string& topic, absl::Duration timeout) {
    absl::Time deadline = absl::Now() + timeout;
    for (;;) {
      for (const Envelope& e : events()) {
        if (e.topic() == topic) return e;
      }
      if (absl::Now() >= deadline) return std::nullopt;
      absl::SleepFor(absl::Milliseconds(10));
    }
  }

 private:
  std::unique_ptr<sys::EventLoop> loop_;
  std::unique_ptr<ttrpc::Server> server_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<Envelope> events_ ABSL_GUARDED_BY(mu_);
};

class ShimTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || RuncPath().empty() || ::access("/bin/busybox", X_OK) != 0) return;
    char templ[] = "/tmp/shim-img-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    image_ = templ;
    ASSERT_TRUE(sys::MakeDirs(image_ + "/bin", 0755).ok());
    ASSERT_TRUE(sys::RunProcess({"cp", "/bin/busybox", image_ + "/bin/busybox"}).ok());
    for (const char* tool : {"sh", "echo", "sleep", "true", "cat"}) {
      ASSERT_EQ(::symlink("busybox", (image_ + "/bin/" + tool).c_str()), 0);
    }
    for (const char* dir : {"proc", "dev", "sys", "tmp"}) {
      ASSERT_TRUE(sys::MakeDirs(image_ + "/" + dir, 0755).ok());
    }
  }
  static void TearDownTestSuite() {
    if (!image_.empty()) (void)sys::RemoveAll(image_);
  }

  void SetUp() override {
    if (image_.empty()) GTEST_SKIP() << "needs root, runc and /bin/busybox (busybox-static)";
    // Short paths: the shim's socket lives under dirname(address) and must fit 107 bytes.
    char templ[] = "/tmp/bs-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    base_ = templ;
    address_ = base_ + "/d.sock";
    events_address_ = base_ + "/t.sock";
    loop_ = *sys::EventLoop::Create();
    loop_thread_ = std::thread([this]() { (void)loop_->Run(); });
  }

  void TearDown() override {
    if (base_.empty()) return;
    for (auto& [id, client] : clients_) client->Close();
    for (pid_t pid : shim_pids_) {
      if (Alive(pid)) ::kill(pid, SIGKILL);
    }
    std::string root = base_ + "/runc/" + kNs;
    for (const std::string& id : ids_) {
      (void)sys::RunProcess({RuncPath(), "--root", root, "delete", "--force", id});
      (void)sys::UnmountAll(base_ + "/" + id + "/rootfs");
    }
    for (const std::string& dir : cgroup_parents_) ::rmdir(dir.c_str());
    loop_->Stop();
    loop_thread_.join();
    clients_.clear();
    (void)sys::RemoveAll(base_);
  }

  // A bundle whose config.json comes from `runc spec`, running `args` without a terminal.
  std::string MakeBundle(const std::string& id, const std::vector<std::string>& args,
                         bool terminal = false) {
    ids_.push_back(id);
    std::string bundle = base_ + "/" + id;
    EXPECT_TRUE(sys::MakeDirs(bundle, 0711).ok());
    sys::RunOptions options;
    options.cwd = bundle;
    auto spec = sys::RunProcess({RuncPath(), "spec"}, options);
    EXPECT_TRUE(spec.ok() && spec->exit_code == 0);
    nlohmann::json config = nlohmann::json::parse(*sys::ReadFile(bundle + "/config.json"));
    config["process"]["args"] = args;
    config["process"]["terminal"] = terminal;
    config["root"]["path"] = "rootfs";
    EXPECT_TRUE(sys::WriteFile(bundle + "/config.json", config.dump(), 0644).ok());
    return bundle;
  }

  // Runs `start` and connects; returns the shim's address.
  std::string StartShim(const std::string& id, const std::string& bundle) {
    sys::RunOptions options;
    options.cwd = bundle;
    options.env = {{"TTRPC_ADDRESS", events_address_}};
    options.timeout = absl::Seconds(20);
    // RunProcess waits for EOF on stdout and stderr: it returning proves the serving shim did
    // not keep them.
    auto run = sys::RunProcess({SHIM_PATH, "-namespace", kNs, "-address", address_,
                                "-publish-binary", "/bin/true", "-id", id, "start"},
                               options);
    EXPECT_TRUE(run.ok()) << run.status();
    if (!run.ok()) return "";
    EXPECT_EQ(run->exit_code, 0) << run->err;
    std::string address(absl::StripAsciiWhitespace(run->out));
    EXPECT_TRUE(absl::StartsWith(address, "unix://" + base_ + "/s/")) << address;
    EXPECT_EQ(*sys::ReadFile(bundle + "/address"), address);
    auto client = ttrpc::Client::Connect(loop_.get(), address);
    EXPECT_TRUE(client.ok()) << client.status();
    if (client.ok()) clients_[id] = *client;
    task::ConnectResponse connect;
    task::ConnectRequest req;
    req.set_id(id);
    EXPECT_TRUE(Call(id, "Connect", req, &connect).ok());
    EXPECT_GT(connect.shim_pid(), 0u);
    shim_pids_.push_back(static_cast<pid_t>(connect.shim_pid()));
    return address;
  }

  absl::Status Call(const std::string& id, const std::string& method,
                    const google::protobuf::MessageLite& req, google::protobuf::MessageLite* resp,
                    absl::Duration timeout = absl::Seconds(30)) {
    ttrpc::CallOptions options;
    options.timeout = timeout;
    options.metadata.emplace(std::string(ttrpc::kNamespaceKey), kNs);
    return clients_.at(id)->CallSync(kTask, method, req, resp, std::move(options));
  }

  task::CreateTaskRequest CreateRequest(const std::string& id, const std::string& bundle) {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(bundle);
    auto* m = req.add_rootfs();
    m->set_type("bind");
    m->set_source(image_);
    m->add_options("rbind");
    m->add_options("ro");
    return req;
  }

  absl::StatusOr<uint32_t> Create(const std::string& id, const task::CreateTaskRequest& req) {
    task::CreateTaskResponse resp;
    absl::Status st = Call(id, "Create", req, &resp);
    if (!st.ok()) return st;
    return resp.pid();
  }
  absl::Status Start(const std::string& id, const std::string& exec_id = "") {
    task::StartRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::StartResponse resp;
    return Call(id, "Start", req, &resp);
  }
  absl::StatusOr<task::WaitResponse> Wait(const std::string& id, const std::string& exec_id = "") {
    task::WaitRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::WaitResponse resp;
    absl::Status st = Call(id, "Wait", req, &resp);
    if (!st.ok()) return st;
    return resp;
  }
  absl::Status Kill(const std::string& id, uint32_t signal, const std::string& exec_id = "") {
    task::KillRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    req.set_signal(signal);
    google::protobuf::Empty resp;
    return Call(id, "Kill", req, &resp);
  }
  absl::StatusOr<task::DeleteResponse> Delete(const std::string& id,
                                              const std::string& exec_id = "") {
    task::DeleteRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::DeleteResponse resp;
    absl::Status st = Call(id, "Delete", req, &resp);
    if (!st.ok()) return st;
    return resp;
  }
  absl::StatusOr<task::StateResponse> State(const std::string& id,
                                            const std::string& exec_id = "") {
    task::StateRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    task::StateResponse resp;
    absl::Status st = Call(id, "State", req, &resp);
    if (!st.ok()) return st;
    return resp;
  }
  absl::Status Exec(const std::string& id, const std::string& exec_id,
                    const std::vector<std::string>& args) {
    task::ExecProcessRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    nlohmann::json process = {
        {"args", args}, {"cwd", "/"}, {"env", {"PATH=/bin"}}, {"user", {{"uid", 0}, {"gid", 0}}}};
    req.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
    req.mutable_spec()->set_value(process.dump());
    google::protobuf::Empty resp;
    return Call(id, "Exec", req, &resp);
  }
  absl::Status Shutdown(const std::string& id) {
    task::ShutdownRequest req;
    req.set_id(id);
    google::protobuf::Empty resp;
    return Call(id, "Shutdown", req, &resp);
  }

  static inline std::string image_;
  std::string base_;
  std::string address_;
  std::string events_address_;
  std::unique_ptr<sys::EventLoop> loop_;
  std::thread loop_thread_;
  std::map<std::string, std::shared_ptr<ttrpc::Client>> clients_;
  std::vector<pid_t> shim_pids_;
  std::vector<std::string> ids_;
  std::vector<std::string> cgroup_parents_;
};

TEST_F(ShimTest, RunToExitWithEventsInOrder) {
  EventReceiver receiver(events_address_);
  std::string bundle = MakeBundle("exit3", {"sh", "-c", "exit 3"});
  ASSERT_FALSE(StartShim("exit3", bundle).empty());
  auto pid = Create("exit3", CreateRequest("exit3", bundle));
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_GT(*pid, 0u);
  EXPECT_TRUE(IsMounted(bundle + "/rootfs"));
  auto state = State("exit3");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status(), ::containerd::v1::types::CREATED);
  EXPECT_EQ(state->pid(), *pid);
  ASSERT_TRUE(Start("exit3").ok());
  auto wait = Wait("exit3");
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_EQ(wait->exit_status(), 3u);
  EXPECT_FALSE(api::IsZeroTimestamp(wait->exited_at()));
  state = State("exit3");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->status(), ::containerd::v1::types::STOPPED);
  EXPECT_EQ(state->exit_status(), 3u);

  // Start of a stopped process, Kill of a stopped process: containerd's errors.
  absl::Status st = Start("exit3");
  EXPECT_EQ(st.code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(st.message(), "cannot start a stopped process");
  st = Kill("exit3", SIGKILL);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "process already finished: not found");

  auto del = Delete("exit3");
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(del->exit_status(), 3u);
  EXPECT_EQ(del->pid(), *pid);
  EXPECT_FALSE(IsMounted(bundle + "/rootfs"));
  EXPECT_EQ(State("exit3").status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(receiver.WaitFor("/tasks/delete", absl::Seconds(10)).has_value());
  EXPECT_EQ(receiver.Topics(), (std::vector<std::string>{"/tasks/create", "/tasks/start",
                                                         "/tasks/exit", "/tasks/delete"}));
  auto exit_event = receiver.WaitFor("/tasks/exit", absl::Seconds(1));
  ASSERT_TRUE(exit_event.has_value());
  EXPECT_EQ(exit_event->event().type_url(), "containerd.events.TaskExit");
  EXPECT_EQ(exit_event->namespace_(), kNs);
  ::containerd::events::TaskExit exit;
  ASSERT_TRUE(exit.ParseFromString(exit_event->event().value()));
  EXPECT_EQ(exit.container_id(), "exit3");
  EXPECT_EQ(exit.id(), "exit3");
  EXPECT_EQ(exit.pid(), *pid);
  EXPECT_EQ(exit.exit_status(), 3u);

  // No containers left: Shutdown ends the shim and removes its socket.
  pid_t shim = shim_pids_.back();
  (void)Shutdown("exit3");
  std::string socket =
      std::string(absl::StripPrefix(*sys::ReadFile(bundle + "/address"), "unix://"));
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while ((Alive(shim) || ::access(socket.c_str(), F_OK) == 0) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_NE(::access(socket.c_str(), F_OK), 0) << "socket left behind";
}

TEST_F(ShimTest, SleepContainerLifecycle) {
  EventReceiver receiver(events_address_);
  std::string bundle = MakeBundle("sleeper", {"sleep", "600"});
  ASSERT_FALSE(StartShim("sleeper", bundle).empty());
  auto pid = Create("sleeper", CreateRequest("sleeper", bundle));
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(Start("sleeper").ok());
  EXPECT_EQ(State("sleeper")->status(), ::containerd::v1::types::RUNNING);

  task::PidsRequest pids_req;
  pids_req.set_id("sleeper");
  task::PidsResponse pids;
  ASSERT_TRUE(Call("sleeper", "Pids", pids_req, &pids).ok());
  ASSERT_EQ(pids.processes_size(), 1);
  EXPECT_EQ(pids.processes(0).pid(), *pid);

  task::PauseRequest pause;
  pause.set_id("sleeper");
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call("sleeper", "Pause", pause, &empty).ok());
  EXPECT_EQ(State("sleeper")->status(), ::containerd::v1::types::PAUSED);
  EXPECT_EQ(Call("sleeper", "Pause", pause, &empty).message(), "cannot pause a paused container");
  EXPECT_EQ(Exec("sleeper", "in-pause", {"true"}).message(), "cannot exec in a paused state");
  task::ResumeRequest resume;
  resume.set_id("sleeper");
  ASSERT_TRUE(Call("sleeper", "Resume", resume, &empty).ok());
  EXPECT_EQ(State("sleeper")->status(), ::containerd::v1::types::RUNNING);

  // An exec'd process: registered, started, waited for; its pid shows up in Pids with its id.
  ASSERT_TRUE(Exec("sleeper", "e1", {"sh", "-c", "sleep 1; exit 5"}).ok());
  EXPECT_EQ(Exec("sleeper", "e1", {"true"}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(State("sleeper", "e1")->status(), ::containerd::v1::types::CREATED);
  EXPECT_EQ(Kill("sleeper", SIGKILL, "e1").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Start("sleeper", "e1").ok());
  ASSERT_TRUE(Call("sleeper", "Pids", pids_req, &pids).ok());
  bool found_exec = false;
  for (const auto& info : pids.processes()) {
    if (info.info().type_url() != "containerd.runc.v1.ProcessDetails") continue;
    ::containerd::runc::v1::ProcessDetails details;
    ASSERT_TRUE(details.ParseFromString(info.info().value()));
    EXPECT_EQ(details.exec_id(), "e1");
    found_exec = true;
  }
  EXPECT_TRUE(found_exec);
  auto wait = Wait("sleeper", "e1");
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_EQ(wait->exit_status(), 5u);
  EXPECT_EQ(Start("sleeper", "e1").message(), "cannot start a stopped process");
  ASSERT_TRUE(Delete("sleeper", "e1").ok());
  EXPECT_EQ(State("sleeper", "e1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Wait("sleeper", "nope").status().code(), absl::StatusCode::kNotFound);

  task::StatsRequest stats_req;
  stats_req.set_id("sleeper");
  task::StatsResponse stats;
  ASSERT_TRUE(Call("sleeper", "Stats", stats_req, &stats).ok());
  EXPECT_TRUE(stats.stats().type_url() == "io.containerd.cgroups.v1.Metrics" ||
              stats.stats().type_url() == "io.containerd.cgroups.v2.Metrics")
      << stats.stats().type_url();
  EXPECT_FALSE(stats.stats().value().empty());

  // Update: the resources are an OCI LinuxResources in JSON.
  task::UpdateTaskRequest update;
  update.set_id("sleeper");
  update.mutable_resources()->set_type_url(
      "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  update.mutable_resources()->set_value(R"({"pids":{"limit":64}})");
  EXPECT_TRUE(Call("sleeper", "Update", update, &empty).ok());

  // Checkpointing needs criu; without it the error says so.
  if (::access("/usr/sbin/criu", X_OK) != 0 && ::access("/usr/bin/criu", X_OK) != 0) {
    task::CheckpointTaskRequest checkpoint;
    checkpoint.set_id("sleeper");
    checkpoint.set_path(base_ + "/checkpoint");
    absl::Status st = Call("sleeper", "Checkpoint", checkpoint, &empty);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(st.message().find("criu is not installed"), std::string::npos) << st;
  }

  // A second `start` for the same task finds the running shim and shares it.
  sys::RunOptions again;
  again.cwd = bundle;
  auto second = sys::RunProcess({SHIM_PATH, "-namespace", kNs, "-address", address_,
                                 "-publish-binary", "/bin/true", "-id", "sleeper", "start"},
                                again);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->exit_code, 0);
  EXPECT_EQ(second->out, *sys::ReadFile(bundle + "/address"));

  EXPECT_EQ(Delete("sleeper").status().message(), "cannot delete a running process");
  ASSERT_TRUE(Kill("sleeper", SIGKILL).ok());
  wait = Wait("sleeper");
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait->exit_status(), 137u);
  // A stopped task still has its cgroup until Delete: Stats answers, as containerd's shim does.
  stats.Clear();
  ASSERT_TRUE(Call("sleeper", "Stats", stats_req, &stats).ok()) << "Stats after the init exited";
  EXPECT_FALSE(stats.stats().value().empty());
  ASSERT_TRUE(Delete("sleeper").ok());

  ASSERT_TRUE(receiver.WaitFor("/tasks/delete", absl::Seconds(10)).has_value());
  EXPECT_EQ(receiver.Topics(),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/paused",
                                      "/tasks/resumed", "/tasks/exec-added", "/tasks/exec-started",
                                      "/tasks/exit", "/tasks/exit", "/tasks/delete"}));
  (void)Shutdown("sleeper");
}

TEST_F(ShimTest, StdoutThroughFifoAndTerminal) {
  std::string bundle = MakeBundle("echo", {"sh", "-c", "echo hello; echo oops >&2"});
  ASSERT_FALSE(StartShim("echo", bundle).empty());
  std::string out = base_ + "/echo-stdout";
  std::string err = base_ + "/echo-stderr";
  ASSERT_EQ(::mkfifo(out.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(err.c_str(), 0600), 0);
  // The client opens its readers first, as containerd's cio does.
  sys::UniqueFd out_r(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  sys::UniqueFd err_r(::open(err.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  task::CreateTaskRequest req = CreateRequest("echo", bundle);
  req.set_stdout(out);
  req.set_stderr(err);
  ASSERT_TRUE(Create("echo", req).ok());
  ASSERT_TRUE(Start("echo").ok());
  ASSERT_EQ(Wait("echo")->exit_status(), 0u);
  auto read_all = [](int fd) {
    std::string data;
    absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (absl::Now() < deadline) {
      char buf[256];
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n > 0) {
        data.append(buf, n);
      } else if (n == 0 && !data.empty()) {
        break;  // EOF once the shim closed its end
      } else {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
    return data;
  };
  EXPECT_EQ(read_all(out_r.get()), "hello\n");
  EXPECT_EQ(read_all(err_r.get()), "oops\n");
  ASSERT_TRUE(Delete("echo").ok());

  // The same through a terminal: one stream, with the terminal's line endings.
  std::string tbundle = MakeBundle("tty", {"sh", "-c", "echo on-a-tty"}, /*terminal=*/true);
  ASSERT_FALSE(StartShim("tty", tbundle).empty());
  std::string tout = base_ + "/tty-stdout";
  ASSERT_EQ(::mkfifo(tout.c_str(), 0600), 0);
  sys::UniqueFd tout_r(::open(tout.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  task::CreateTaskRequest treq = CreateRequest("tty", tbundle);
  treq.set_terminal(true);
  treq.set_stdout(tout);
  auto tpid = Create("tty", treq);
  ASSERT_TRUE(tpid.ok()) << tpid.status();
  task::ResizePtyRequest resize;
  resize.set_id("tty");
  resize.set_width(100);
  resize.set_height(40);
  google::protobuf::Empty empty;
  EXPECT_TRUE(Call("tty", "ResizePty", resize, &empty).ok());
  ASSERT_TRUE(Start("tty").ok());
  ASSERT_EQ(Wait("tty")->exit_status(), 0u);
  EXPECT_EQ(read_all(tout_r.get()), "on-a-tty\r\n");
  ASSERT_TRUE(Delete("tty").ok());
}

TEST_F(ShimTest, EventsWaitForTheDaemon) {
  // Nobody listens on TTRPC_ADDRESS yet: the shim keeps the events.
  std::string bundle = MakeBundle("late", {"true"});
  ASSERT_FALSE(StartShim("late", bundle).empty());
  ASSERT_TRUE(Create("late", CreateRequest("late", bundle)).ok());
  ASSERT_TRUE(Start("late").ok());
  ASSERT_EQ(Wait("late")->exit_status(), 0u);
  absl::SleepFor(absl::Milliseconds(300));  // a few failed attempts
  EventReceiver receiver(events_address_);
  ASSERT_TRUE(receiver.WaitFor("/tasks/exit", absl::Seconds(10)).has_value());
  EXPECT_EQ(receiver.Topics(),
            (std::vector<std::string>{"/tasks/create", "/tasks/start", "/tasks/exit"}));
  ASSERT_TRUE(Delete("late").ok());
}

TEST_F(ShimTest, DeleteActionAfterTheShimDied) {
  std::string bundle = MakeBundle("orphan", {"sleep", "600"});
  ASSERT_FALSE(StartShim("orphan", bundle).empty());
  auto pid = Create("orphan", CreateRequest("orphan", bundle));
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(Start("orphan").ok());
  pid_t shim = shim_pids_.back();
  ASSERT_EQ(::kill(shim, SIGKILL), 0);
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Alive(shim) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));

  sys::RunOptions options;
  options.cwd = bundle;
  options.timeout = absl::Seconds(30);
  auto run = sys::RunProcess({SHIM_PATH, "-namespace", kNs, "-address", address_, "-id", "orphan",
                              "-bundle", bundle, "delete"},
                             options);
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->err;
  task::DeleteResponse resp;
  ASSERT_TRUE(resp.ParseFromString(run->out));
  EXPECT_EQ(resp.exit_status(), 137u);
  EXPECT_EQ(resp.pid(), *pid);
  EXPECT_FALSE(api::IsZeroTimestamp(resp.exited_at()));
  EXPECT_FALSE(IsMounted(bundle + "/rootfs"));
  // runc forgot the container, and its process is gone.
  auto state = sys::RunProcess({RuncPath(), "--root", base_ + "/runc/" + kNs, "state", "orphan"});
  ASSERT_TRUE(state.ok());
  EXPECT_NE(state->exit_code, 0);
  deadline = absl::Now() + absl::Seconds(10);
  while (Alive(static_cast<pid_t>(*pid)) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_FALSE(Alive(static_cast<pid_t>(*pid)));
}

TEST_F(ShimTest, StdinAndCloseIo) {
  std::string bundle = MakeBundle("cat", {"cat"});
  ASSERT_FALSE(StartShim("cat", bundle).empty());
  std::string in = base_ + "/cat-stdin";
  std::string out = base_ + "/cat-stdout";
  ASSERT_EQ(::mkfifo(in.c_str(), 0600), 0);
  ASSERT_EQ(::mkfifo(out.c_str(), 0600), 0);
  sys::UniqueFd out_r(::open(out.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  task::CreateTaskRequest req = CreateRequest("cat", bundle);
  req.set_stdin(in);
  req.set_stdout(out);
  ASSERT_TRUE(Create("cat", req).ok());
  ASSERT_TRUE(Start("cat").ok());
  // The client writes and, still holding its end, says it is done with CloseIO (as dockerd
  // does): the process reads what was written, then EOF. (A client closing its end gives EOF
  // too: ctr_tasks_test pipes stdin through ctr.)
  sys::UniqueFd in_w(::open(in.c_str(), O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(in_w.valid());
  ASSERT_EQ(::write(in_w.get(), "abc\n", 4), 4);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(State("cat")->status(), ::containerd::v1::types::RUNNING);  // stdin is still open
  task::CloseIORequest close;
  close.set_id("cat");
  close.set_stdin(true);
  google::protobuf::Empty empty;
  ASSERT_TRUE(Call("cat", "CloseIO", close, &empty).ok());
  auto wait = Wait("cat");
  ASSERT_TRUE(wait.ok());
  EXPECT_EQ(wait->exit_status(), 0u);
  std::string data;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    char buf[64];
    ssize_t n = ::read(out_r.get(), buf, sizeof(buf));
    if (n > 0) data.append(buf, n);
    if (n == 0 && !data.empty()) break;
    if (n <= 0) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(data, "abc\n");
  ASSERT_TRUE(Delete("cat").ok());
}

TEST_F(ShimTest, LogUris) {
  // file://: stdout and stderr appended to one file, created with its directory.
  std::string bundle = MakeBundle("filelog", {"sh", "-c", "echo out; echo err >&2"});
  ASSERT_FALSE(StartShim("filelog", bundle).empty());
  std::string log_file = base_ + "/logs/filelog.log";
  task::CreateTaskRequest req = CreateRequest("filelog", bundle);
  req.set_stdout("file://" + log_file);
  req.set_stderr("file://" + log_file);
  ASSERT_TRUE(Create("filelog", req).ok());
  ASSERT_TRUE(Start("filelog").ok());
  ASSERT_EQ(Wait("filelog")->exit_status(), 0u);
  ASSERT_TRUE(Delete("filelog").ok());  // waits for the copies to drain
  auto text = sys::ReadFile(log_file);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("out\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("err\n"), std::string::npos) << *text;

  // binary://: a logging program gets stdout on fd 3 and stderr on fd 4, is ready when fd 5
  // closes, and sees only CONTAINER_ID and CONTAINER_NAMESPACE in its environment.
  std::string logger = base_ + "/logger.sh";
  std::string captured = base_ + "/captured";
  ASSERT_TRUE(sys::WriteFile(logger,
                             "#!/bin/sh\n"
                             "exec 5>&-\n"
                             "echo \"$CONTAINER_NAMESPACE/$CONTAINER_ID $*\" > " +
                                 captured +
                                 "\n"
                                 "cat <&3 >> " +
                                 captured + "\n",
                             0755)
                  .ok());
  std::string bbundle = MakeBundle("binlog", {"sh", "-c", "echo via-logger"});
  ASSERT_FALSE(StartShim("binlog", bbundle).empty());
  task::CreateTaskRequest breq = CreateRequest("binlog", bbundle);
  breq.set_stdout("binary://" + logger + "?tag=x");
  breq.set_stderr("binary://" + logger + "?tag=x");
  ASSERT_TRUE(Create("binlog", breq).ok());
  ASSERT_TRUE(Start("binlog").ok());
  ASSERT_EQ(Wait("binlog")->exit_status(), 0u);
  std::string got;
  absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    got = sys::ReadFile(captured).value_or("");
    if (absl::StrContains(got, "via-logger")) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(got, absl::StrCat(kNs, "/binlog tag x\nvia-logger\n"));
  ASSERT_TRUE(Delete("binlog").ok());
}

// runc's start (release the init through exec.fifo) and its delete of a stopped container
// (cgroups, state directory) are done by the shim itself: through a wrapper that logs every runc
// invocation, only `create` reaches runc, and what runc would have left behind is gone.
TEST_F(ShimTest, StartAndDeleteWithoutRuncProcesses) {
  std::string calls = base_ + "/runc-calls";
  std::string wrapper = base_ + "/runc-wrapper";
  ASSERT_TRUE(sys::WriteFile(wrapper,
                             absl::StrCat("#!/bin/sh\necho \"$*\" >> ", calls, "\nexec ",
                                          RuncPath(), " \"$@\"\n"),
                             0755)
                  .ok());
  std::string bundle = MakeBundle("native", {"sh", "-c", "read x; exit 7"});
  // In cgroups of its own (a spec from `runc spec` has no cgroupsPath), as ctr's specs are.
  nlohmann::json config = nlohmann::json::parse(*sys::ReadFile(bundle + "/config.json"));
  config["linux"]["cgroupsPath"] = absl::StrCat("/", kNs, "-", ::getpid(), "/native");
  ASSERT_TRUE(sys::WriteFile(bundle + "/config.json", config.dump(), 0644).ok());
  ASSERT_FALSE(StartShim("native", bundle).empty());
  task::CreateTaskRequest req = CreateRequest("native", bundle);
  ::containerd::runc::v1::Options opts;
  opts.set_binary_name(wrapper);
  req.mutable_options()->set_type_url("containerd.runc.v1.Options");
  req.mutable_options()->set_value(opts.SerializeAsString());
  // Stdin from a FIFO this test holds open: the process runs until the test lets it exit.
  std::string in = base_ + "/native.stdin";
  ASSERT_EQ(::mkfifo(in.c_str(), 0600), 0);
  sys::UniqueFd in_rw(::open(in.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(in_rw.valid());
  req.set_stdin(in);
  ASSERT_TRUE(Create("native", req).ok());

  std::string state_dir = base_ + "/runc/" + kNs + "/native";
  struct stat st;
  ASSERT_EQ(::stat((state_dir + "/exec.fifo").c_str(), &st), 0);
  auto state = sys::ReadFile(state_dir + "/state.json");
  ASSERT_TRUE(state.ok());
  std::vector<std::string> cgroups;
  nlohmann::json state_json = nlohmann::json::parse(*state);
  for (const auto& entry : state_json["cgroup_paths"].items()) {
    cgroups.push_back(entry.value().get<std::string>());
    // The parent is the test's to remove, as containerd leaves /<namespace> to its owner.
    cgroup_parents_.push_back(sys::Dirname(cgroups.back()));
  }
  ASSERT_FALSE(cgroups.empty()) << *state;

  ASSERT_TRUE(Start("native").ok());
  EXPECT_EQ(State("native")->status(), ::containerd::v1::types::RUNNING);
  EXPECT_NE(::stat((state_dir + "/exec.fifo").c_str(), &st), 0);
  // runc agrees that it runs.
  auto runc_state = sys::RunProcess({RuncPath(), "--root", base_ + "/runc/" + kNs, "state",
                                     "native"});
  ASSERT_TRUE(runc_state.ok());
  EXPECT_EQ(nlohmann::json::parse(runc_state->out)["status"], "running") << runc_state->out;

  ASSERT_TRUE(sys::WriteAll(in_rw.get(), "go\n", in).ok());
  auto wait = Wait("native");
  ASSERT_TRUE(wait.ok()) << wait.status();
  EXPECT_EQ(wait->exit_status(), 7u);
  auto deleted = Delete("native");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->exit_status(), 7u);
  EXPECT_NE(::stat(state_dir.c_str(), &st), 0) << state_dir << " is left";
  for (const std::string& path : cgroups) {
    EXPECT_NE(::stat(path.c_str(), &st), 0) << path << " is left";
  }
  std::string log = *sys::ReadFile(calls);
  EXPECT_NE(log.find(" create "), std::string::npos) << log;
  EXPECT_EQ(log.find(" start "), std::string::npos) << log;
  EXPECT_EQ(log.find(" delete "), std::string::npos) << log;
  (void)Shutdown("native");
}

TEST_F(ShimTest, CreateErrorsAreClear) {
  std::string bundle = MakeBundle("bad", {"/no/such/program"});
  ASSERT_FALSE(StartShim("bad", bundle).empty());
  // A runtime binary that is not installed.
  task::CreateTaskRequest req = CreateRequest("bad", bundle);
  ::containerd::runc::v1::Options opts;
  opts.set_binary_name("no-such-runc");
  req.mutable_options()->set_type_url("containerd.runc.v1.Options");
  req.mutable_options()->set_value(opts.SerializeAsString());
  auto pid = Create("bad", req);
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().message().find("OCI runtime create failed"), std::string::npos)
      << pid.status();
  EXPECT_NE(pid.status().message().find("executable file not found in $PATH"), std::string::npos)
      << pid.status();
  EXPECT_FALSE(IsMounted(bundle + "/rootfs"));
  // A spec whose program does not exist: runc's own message, from its log.
  pid = Create("bad", CreateRequest("bad", bundle));
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.status().message().find("OCI runtime create failed: "), std::string::npos)
      << pid.status();
  EXPECT_NE(pid.status().message().find("/no/such/program"), std::string::npos) << pid.status();
  EXPECT_FALSE(IsMounted(bundle + "/rootfs"));
  // Unknown containers.
  task::StateRequest state;
  state.set_id("other");
  task::StateResponse resp;
  absl::Status st = Call("bad", "State", state, &resp);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(st.message(), "container not created: not found");
  (void)Shutdown("bad");
}

}  // namespace
}  // namespace berth::shim
