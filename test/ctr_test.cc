// The real containerd 1.6 `ctr` (Debian's /usr/bin/ctr, client side only) against berthd.
// Whatever ctr prints or exits with is what a containerd user sees, so these tests check its
// output as text, the way a user (or a script) would read it.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/containers.h"
#include "client/leases.h"
#include "client/namespaces.h"
#include "client/version.h"
#include "test/api_helpers.h"
#include "test/ctr_fixture.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

TEST_F(CtrTest, VersionShowsBerthAsServer) {
  CommandResult r = Ctr({"version"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  size_t server = r.out.find("Server:");
  ASSERT_NE(server, std::string::npos) << r.out;
  std::string server_part = r.out.substr(server);
  EXPECT_TRUE(absl::StrContains(server_part, "Version:  v0.1.0-berth")) << r.out;
  auto v = client::GetVersion(*client_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(absl::StrContains(server_part, "Revision: " + v->revision())) << r.out;
  // ctr version also asks Introspection/Server for the UUID.
  std::vector<std::string> lines = Lines(server_part);
  auto it = std::find_if(lines.begin(), lines.end(),
                         [](const std::string& l) { return absl::StrContains(l, "UUID: "); });
  ASSERT_NE(it, lines.end()) << r.out;
  std::string uuid(absl::StripAsciiWhitespace(it->substr(it->find("UUID: ") + 6)));
  EXPECT_EQ(uuid.size(), 36u) << *it;
}

TEST_F(CtrTest, PluginsLs) {
  CommandResult r = Ctr({"plugins", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(absl::StartsWith(lines[0], "TYPE")) << lines[0];
  for (const char* id :
       {"containers", "leases", "namespaces", "events", "version", "introspection"}) {
    bool found = false;
    for (const std::string& line : lines) {
      std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() >= 3 && f[0] == "io.containerd.grpc.v1" && f[1] == id) {
        found = true;
        EXPECT_EQ(f.back(), "ok") << line;
      }
    }
    EXPECT_TRUE(found) << "io.containerd.grpc.v1 " << id << " missing:\n" << r.out;
  }
  // A filter argument, as `ctr plugins ls type==...` sends it.
  r = Ctr({"plugins", "ls", "id==leases"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  lines = Lines(r.out);
  ASSERT_GE(lines.size(), 2u) << r.out;
  for (size_t i = 1; i < lines.size(); ++i) EXPECT_TRUE(absl::StrContains(lines[i], "leases"));
}

TEST_F(CtrTest, NamespacesCreateLabelListRemove) {
  const std::string name = UniqueName("ctrns");
  CommandResult r = Ctr({"namespaces", "create", name, "b=2", "a=1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  r = Ctr({"namespaces", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, "NAME")) << r.out;
  auto row = Row(r.out, name);
  ASSERT_TRUE(row.has_value()) << r.out;
  ASSERT_EQ(row->size(), 2u) << r.out;
  EXPECT_EQ((*row)[1], "a=1,b=2");

  r = Ctr({"namespaces", "label", name, "c=3", "a="});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  row = Row(Ctr({"namespaces", "ls"}).out, name);
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ((*row)[1], "b=2,c=3") << "ctr ns label did not set c / remove a";
  auto labels = client::GetNamespace(*client_, name);
  ASSERT_TRUE(labels.ok());
  EXPECT_EQ(labels->labels().size(), 2u);

  r = Ctr({"namespaces", "ls", "-q"});
  ASSERT_EQ(r.exit_code, 0);
  std::vector<std::string> names = Lines(r.out);
  EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << r.out;

  r = Ctr({"namespaces", "rm", name});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{name});
  EXPECT_FALSE(Row(Ctr({"namespaces", "ls"}).out, name).has_value());

  // ctr treats NotFound from Delete as success: this passes only if the code is NotFound.
  r = Ctr({"namespaces", "rm", name});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
}

TEST_F(CtrTest, NamespaceErrors) {
  CommandResult r = Ctr({"namespaces", "create", "bad/id"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "must match")) << r.err;

  const std::string name = UniqueName("ctrdup");
  ASSERT_EQ(Ctr({"namespaces", "create", name}).exit_code, 0);
  r = Ctr({"namespaces", "create", name});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "already exists")) << r.err;

  // A namespace holding a lease cannot be removed.
  r = CtrIn(name, {"leases", "create", "--id", "keep"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  r = Ctr({"namespaces", "rm", name});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "must be empty")) << r.err;
  EXPECT_TRUE(Row(Ctr({"namespaces", "ls"}).out, name).has_value());
}

TEST_F(CtrTest, Leases) {
  CommandResult r = Ctr({"leases", "create", "--id", "mylease", "purpose=test"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{"mylease"});

  // Without --id the server makes one up and ctr prints it.
  r = Ctr({"leases", "create"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> printed = Lines(r.out);
  ASSERT_EQ(printed.size(), 1u) << r.out;
  const std::string generated = printed[0];
  EXPECT_FALSE(generated.empty());
  EXPECT_NE(generated, "mylease");

  r = Ctr({"leases", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StartsWith(r.out, "ID")) << r.out;
  auto row = Row(r.out, "mylease");
  ASSERT_TRUE(row.has_value()) << r.out;
  // ctr's default --expires 24h becomes the containerd.io/gc.expire label.
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(*row, " "), "containerd.io/gc.expire=")) << r.out;
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(*row, " "), "purpose=test")) << r.out;
  EXPECT_TRUE(Row(r.out, generated).has_value()) << r.out;

  r = Ctr({"leases", "ls", "-q"});
  ASSERT_EQ(r.exit_code, 0);
  std::vector<std::string> ids = Lines(r.out);
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> want = {generated, "mylease"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(ids, want);

  r = Ctr({"leases", "rm", "mylease"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Lines(Ctr({"leases", "ls", "-q"}).out), std::vector<std::string>{generated});

  r = Ctr({"leases", "rm", "mylease"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.err;

  // --expires 0: no expiry label.
  r = Ctr({"leases", "create", "--id", "forever", "--expires", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto forever = client::ListLeases(*client_, {"id==forever"});
  ASSERT_TRUE(forever.ok());
  ASSERT_EQ(forever->size(), 1u);
  EXPECT_FALSE((*forever)[0].labels().contains(client::kLeaseExpireLabel));
}

TEST_F(CtrTest, EventsShowsNamespaceCreate) {
  const std::string out_path = daemon_.dir() + "/ctr-events.out";
  const std::string err_path = daemon_.dir() + "/ctr-events.err";
  auto proc = Process::Spawn({kCtrPath, "-a", daemon_.socket(), "events"}, out_path, err_path);
  ASSERT_TRUE(proc.ok()) << proc.status();

  // ctr gives no sign when its subscription is live: keep creating namespaces until one shows.
  std::string seen_name;
  bool seen = WaitFor(
      [&] {
        if (!(*proc)->Running()) return true;
        const std::string name = UniqueName("evt");
        EXPECT_TRUE(client::CreateNamespace(*client_, name, {{"k", "v"}}).ok());
        for (const std::string& line : Lines(ReadFileOrEmpty(out_path))) {
          if (absl::StrContains(line, "/namespaces/create")) {
            seen_name = line;
            return true;
          }
        }
        return false;
      },
      absl::Seconds(10), absl::Milliseconds(200));
  ASSERT_TRUE((*proc)->Running()) << "ctr events exited: " << ReadFileOrEmpty(err_path);
  ASSERT_TRUE(seen) << "no /namespaces/create from ctr events; stdout:\n"
                    << ReadFileOrEmpty(out_path) << "\nstderr:\n"
                    << ReadFileOrEmpty(err_path);
  // "<timestamp> <namespace> <topic> <event as JSON>": ctr decoded the payload by its type URL.
  EXPECT_TRUE(absl::StrContains(seen_name, R"({"name":"evt-)")) << seen_name;
  EXPECT_TRUE(absl::StrContains(seen_name, R"("labels":{"k":"v"})")) << seen_name;
  EXPECT_FALSE(absl::StrContains(ReadFileOrEmpty(err_path), "cannot unmarshal"))
      << ReadFileOrEmpty(err_path);

  // A container event carries the container's namespace.
  ASSERT_TRUE(client::CreateContainer(*client_, MakeContainer("evc")).ok());
  bool container_seen = WaitFor(
      [&] {
        for (const std::string& line : Lines(ReadFileOrEmpty(out_path))) {
          if (absl::StrContains(line, " " + ns_ + " /containers/create ")) return true;
        }
        return false;
      },
      absl::Seconds(5));
  EXPECT_TRUE(container_seen) << ReadFileOrEmpty(out_path);

  (*proc)->Signal(SIGINT);
  EXPECT_TRUE((*proc)->Wait(absl::Seconds(5)).has_value()) << "ctr events ignored SIGINT";
}

TEST_F(CtrTest, ContainersListAndInfo) {
  // Empty namespace: ListStream with nothing to send.
  CommandResult r = Ctr({"containers", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  EXPECT_EQ(std::vector<std::string>(absl::StrSplit(lines[0], ' ', absl::SkipEmpty())),
            (std::vector<std::string>{"CONTAINER", "IMAGE", "RUNTIME"}));

  client::Container c = MakeContainer("web1");
  c.set_image("docker.io/library/nginx:latest");
  (*c.mutable_labels())["app"] = "web";
  ASSERT_TRUE(client::CreateContainer(*client_, c).ok());
  client::Container other = MakeContainer("db1");
  ASSERT_TRUE(client::CreateContainer(*client_, other).ok());

  r = Ctr({"containers", "ls"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto row = Row(r.out, "web1");
  ASSERT_TRUE(row.has_value()) << r.out;
  EXPECT_EQ(*row, (std::vector<std::string>{"web1", "docker.io/library/nginx:latest", kRuncV2}));
  EXPECT_TRUE(Row(r.out, "db1").has_value()) << r.out;

  r = Ctr({"containers", "ls", "-q", "labels.app==web"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Lines(r.out), std::vector<std::string>{"web1"});

  r = Ctr({"containers", "info", "web1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  nlohmann::json info = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(info.is_discarded()) << "not JSON:\n" << r.out;
  EXPECT_EQ(info.value("ID", ""), "web1");
  EXPECT_EQ(info.value("Image", ""), "docker.io/library/nginx:latest");
  EXPECT_EQ(info["Runtime"].value("Name", ""), kRuncV2);
  EXPECT_EQ(info["Labels"].value("app", ""), "web");
  // ctr decoded the spec Any by its type URL into the OCI spec.
  EXPECT_EQ(info["Spec"].value("ociVersion", ""), "1.0.2") << r.out;
  EXPECT_TRUE(info.contains("CreatedAt"));

  r = Ctr({"containers", "info", "--spec", "web1"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.out, "\"ociVersion\": \"1.0.2\"")) << r.out;

  // ctr c label updates with a labels.<key> mask.
  r = Ctr({"containers", "label", "web1", "tier=front"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto got = client::GetContainer(*client_, "web1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels().at("tier"), "front");
  EXPECT_EQ(got->labels().at("app"), "web");

  r = Ctr({"containers", "info", "nope"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(absl::StrContains(r.err, "not found")) << r.err;

  // ctr c rm asks for the task first (Tasks is not served: it must still delete the container).
  r = Ctr({"containers", "rm", "db1"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(HasCode(client::GetContainer(*client_, "db1"), absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace berth::test
