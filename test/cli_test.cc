// The berth CLI against a real berthd: what a shell user sees (output, exit codes, messages).

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/containers.h"
#include "daemon_fixture.h"

namespace berth::test {
namespace {

inline constexpr char kBerthPath[] = BERTH_CLI_PATH;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.Start()); }

  CommandResult Berth(std::vector<std::string> args, const std::string& ns = "cli") {
    std::vector<std::string> argv = {kBerthPath, "--address", daemon_.socket(), "-n", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }

  Berthd daemon_;
};

TEST_F(CliTest, VersionShowsClientAndServer) {
  CommandResult r = Berth({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "Server:")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "v0.1.0-berth")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "UUID:")) << r.out;
}

TEST_F(CliTest, NamespacesLifecycle) {
  ASSERT_EQ(Berth({"namespaces", "create", "team-a", "owner=ops"}).exit_code, 0);
  ASSERT_EQ(Berth({"ns", "label", "team-a", "tier=1", "owner="}).exit_code, 0);
  CommandResult ls = Berth({"ns", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.Describe();
  EXPECT_TRUE(absl::StrContains(ls.out, "NAME")) << ls.out;
  EXPECT_TRUE(absl::StrContains(ls.out, "team-a")) << ls.out;
  EXPECT_TRUE(absl::StrContains(ls.out, "tier=1")) << ls.out;
  EXPECT_FALSE(absl::StrContains(ls.out, "owner")) << "owner= removes the label\n" << ls.out;

  CommandResult dup = Berth({"ns", "create", "team-a"});
  EXPECT_EQ(dup.exit_code, 1);
  EXPECT_EQ(dup.err, "berth: namespace \"team-a\": already exists\n");

  CommandResult bad = Berth({"ns", "create", "bad/name"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(bad.err, "must match")) << bad.err;

  CommandResult rm = Berth({"ns", "rm", "team-a", "missing"});
  EXPECT_EQ(rm.exit_code, 1) << "one of two failed";
  EXPECT_EQ(rm.out, "team-a\n");
  EXPECT_TRUE(absl::StrContains(rm.err, "namespace \"missing\": not found")) << rm.err;
  EXPECT_FALSE(absl::StrContains(Berth({"ns", "ls", "-q"}).out, "team-a"));
}

TEST_F(CliTest, RemovingABusyNamespaceExplainsWhy) {
  ASSERT_EQ(Berth({"leases", "create", "--id", "hold"}, "busy").exit_code, 0);
  CommandResult rm = Berth({"ns", "rm", "busy"});
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_EQ(rm.err,
            "berth: namespace \"busy\" must be empty, but it still has leases: failed "
            "precondition\n");
}

TEST_F(CliTest, ContainersListInfoLabelRemove) {
  auto c = daemon_.NewClient("cli");
  containerd::services::containers::v1::Container want;
  want.set_id("web");
  want.set_image("docker.io/library/busybox:latest");
  want.mutable_runtime()->set_name("io.containerd.runc.v2");
  want.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  want.mutable_spec()->set_value(R"({"ociVersion":"1.0.2","hostname":"web"})");
  ASSERT_TRUE(client::CreateContainer(*c, want).ok());

  CommandResult ls = Berth({"containers", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.Describe();
  EXPECT_TRUE(absl::StrContains(ls.out, "web")) << ls.out;
  EXPECT_TRUE(absl::StrContains(ls.out, "io.containerd.runc.v2")) << ls.out;
  EXPECT_EQ(Berth({"c", "ls", "-q", "image~=alpine"}).out, "") << "filters reach the daemon";

  CommandResult info = Berth({"c", "info", "web"});
  ASSERT_EQ(info.exit_code, 0) << info.Describe();
  EXPECT_TRUE(absl::StrContains(info.out, "\"hostname\": \"web\"")) << "spec printed as JSON\n"
                                                                    << info.out;

  ASSERT_EQ(Berth({"c", "label", "web", "role=front"}).exit_code, 0);
  EXPECT_EQ(client::GetContainer(*c, "web")->labels().at("role"), "front");

  CommandResult rm = Berth({"c", "rm", "web"});
  EXPECT_EQ(rm.exit_code, 0) << rm.Describe();
  CommandResult again = Berth({"c", "info", "web"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(again.err, "not found")) << again.err;
}

TEST_F(CliTest, LeasesCreateListRemove) {
  CommandResult created = Berth({"leases", "create", "--id", "build-1", "-x", "1h", "k=v"});
  ASSERT_EQ(created.exit_code, 0) << created.Describe();
  EXPECT_EQ(created.out, "build-1\n");
  CommandResult generated = Berth({"leases", "create"});
  ASSERT_EQ(generated.exit_code, 0) << generated.Describe();
  EXPECT_FALSE(generated.out.empty());
  CommandResult ls = Berth({"leases", "ls"});
  EXPECT_TRUE(absl::StrContains(ls.out, "build-1")) << ls.out;
  EXPECT_TRUE(absl::StrContains(ls.out, "containerd.io/gc.expire=")) << ls.out;
  EXPECT_EQ(Berth({"leases", "rm", "build-1"}).exit_code, 0);
  EXPECT_FALSE(absl::StrContains(Berth({"leases", "ls", "-q"}).out, "build-1"));
}

TEST_F(CliTest, EventsPrintsNamespaceEvents) {
  TempDir tmp("berth-cli-events");
  auto events = Process::Spawn({kBerthPath, "--address", daemon_.socket(), "events"},
                               tmp.Sub("out"), tmp.Sub("err"));
  ASSERT_TRUE(events.ok()) << events.status();
  // Publish until the subscription is live and the line shows up.
  bool seen = WaitFor(
      [&] {
        Berth({"ns", "label", "watched", "tick=1"});
        return absl::StrContains(ReadFileOrEmpty(tmp.Sub("out")), "/namespaces/update");
      },
      absl::Seconds(10), absl::Milliseconds(200));
  EXPECT_TRUE(seen) << ReadFileOrEmpty(tmp.Sub("out")) << ReadFileOrEmpty(tmp.Sub("err"));
  EXPECT_TRUE(absl::StrContains(ReadFileOrEmpty(tmp.Sub("out")), "\"name\":\"watched\""));
  (*events)->Signal(SIGINT);
  std::optional<int> status = (*events)->Wait(absl::Seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << DescribeWaitStatus(*status);
}

TEST_F(CliTest, PluginsAndEnvironment) {
  CommandResult plugins = Berth({"plugins", "ls"});
  ASSERT_EQ(plugins.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(plugins.out, "io.containerd.grpc.v1")) << plugins.out;
  CommandResult filtered = Berth({"plugins", "ls", "-q", "id==leases"});
  EXPECT_EQ(filtered.exit_code, 0) << filtered.Describe();

  // BERTH_ADDRESS / BERTH_NAMESPACE stand in for the flags.
  CommandResult env =
      RunCommand({"/usr/bin/env", "BERTH_ADDRESS=" + daemon_.socket(), "BERTH_NAMESPACE=envns",
                  kBerthPath, "leases", "create", "--id", "from-env"});
  ASSERT_EQ(env.exit_code, 0) << env.Describe();
  EXPECT_TRUE(absl::StrContains(Berth({"leases", "ls", "-q"}, "envns").out, "from-env"));
}

TEST_F(CliTest, ExitCodesForUsageAndUnreachableDaemon) {
  CommandResult usage = Berth({"namespaces", "frobnicate"});
  EXPECT_EQ(usage.exit_code, 2) << usage.Describe();
  CommandResult down =
      RunCommand({kBerthPath, "--address", "/nonexistent/berthd.sock", "ns", "ls"});
  EXPECT_EQ(down.exit_code, 1) << down.Describe();
  EXPECT_TRUE(absl::StartsWith(down.err, "berth: ")) << down.err;
  EXPECT_TRUE(absl::StrContains(down.err, "/nonexistent/berthd.sock")) << down.err;
}

}  // namespace
}  // namespace berth::test
