// Namespaces service against a real berthd, through the client library and raw stubs.
// Expected codes and messages are containerd 1.6's (metadata/namespaces.go,
// services/namespaces/local.go, identifiers/validate.go, namespaces/context.go).

#include <gtest/gtest.h>

#include <algorithm>

#include "client/containers.h"
#include "client/leases.h"
#include "client/namespaces.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace nsapi = containerd::services::namespaces::v1;
using absl::StatusCode;

class NamespacesTest : public DaemonTest {
 protected:
  // The namespace `name` as List reports it, or nullopt when absent.
  std::optional<client::Namespace> Listed(const std::string& name) {
    auto list = client::ListNamespaces(*client_);
    EXPECT_TRUE(list.ok()) << list.status();
    if (!list.ok()) return std::nullopt;
    for (const client::Namespace& ns : *list) {
      if (ns.name() == name) return ns;
    }
    return std::nullopt;
  }

  client::Labels LabelsOf(const std::string& name) {
    auto ns = client::GetNamespace(*client_, name);
    EXPECT_TRUE(ns.ok()) << ns.status();
    if (!ns.ok()) return {};
    return client::Labels(ns->labels().begin(), ns->labels().end());
  }

  // A raw Update with the given mask paths (none = replace every label).
  absl::Status Update(const std::string& name, const client::Labels& labels,
                      const std::vector<std::string>& paths) {
    nsapi::UpdateNamespaceRequest req;
    req.mutable_namespace_()->set_name(name);
    req.mutable_namespace_()->mutable_labels()->insert(labels.begin(), labels.end());
    for (const std::string& p : paths) req.mutable_update_mask()->add_paths(p);
    nsapi::UpdateNamespaceResponse resp;
    auto ctx = client_->NewContext();
    return client::FromGrpc(client_->namespaces().Update(ctx.get(), req, &resp));
  }
};

TEST_F(NamespacesTest, CreateGetListDelete) {
  const std::string name = UniqueName("created");
  ASSERT_TRUE(client::CreateNamespace(*client_, name, {{"team", "infra"}, {"tier", "1"}}).ok());

  EXPECT_EQ(LabelsOf(name), (client::Labels{{"team", "infra"}, {"tier", "1"}}));
  std::optional<client::Namespace> listed = Listed(name);
  ASSERT_TRUE(listed.has_value()) << name << " missing from List";
  EXPECT_EQ(listed->labels().at("team"), "infra");

  // List is sorted by name, as containerd's bolt buckets are.
  auto list = client::ListNamespaces(*client_);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(std::is_sorted(list->begin(), list->end(),
                             [](const auto& a, const auto& b) { return a.name() < b.name(); }));

  ASSERT_TRUE(client::DeleteNamespace(*client_, name).ok());
  EXPECT_FALSE(Listed(name).has_value()) << name << " still listed after Delete";
  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, name), StatusCode::kNotFound,
                      "namespace \"" + name + "\": not found"));
}

TEST_F(NamespacesTest, GetUnknownIsOkWithEmptyLabels) {
  // dockerd calls Get on its namespace before creating anything and refuses to start on error.
  auto ns = client::GetNamespace(*client_, "never-created");
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(ns->name(), "never-created");
  EXPECT_TRUE(ns->labels().empty());
}

TEST_F(NamespacesTest, UpdateWithMasksSetsAndRemovesSingleLabels) {
  const std::string name = UniqueName("masked");
  ASSERT_TRUE(client::CreateNamespace(*client_, name, {{"keep", "1"}, {"drop", "2"}}).ok());

  // labels.drop with no value removes it; labels.new sets it; keep is untouched.
  ASSERT_TRUE(Update(name, {{"new", "3"}}, {"labels.drop", "labels.new"}).ok());
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"keep", "1"}, {"new", "3"}}));

  // The client helper does the same per key; an empty value removes.
  ASSERT_TRUE(client::SetNamespaceLabels(*client_, name, {{"keep", ""}, {"x.y/z", "v"}}).ok());
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"new", "3"}, {"x.y/z", "v"}}));

  // No mask: every label is replaced by the request's.
  ASSERT_TRUE(Update(name, {{"only", "1"}}, {}).ok());
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"only", "1"}}));

  // Only labels may be updated.
  EXPECT_TRUE(HasCode(Update(name, {}, {"name"}), StatusCode::kInvalidArgument,
                      "cannot update \"name\" field"));
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"only", "1"}}));
}

TEST_F(NamespacesTest, DuplicateCreateIsAlreadyExists) {
  const std::string name = UniqueName("dup");
  ASSERT_TRUE(client::CreateNamespace(*client_, name, {{"a", "1"}}).ok());
  EXPECT_TRUE(HasCode(client::CreateNamespace(*client_, name, {{"a", "2"}}),
                      StatusCode::kAlreadyExists, "namespace \"" + name + "\": already exists"));
  // The first one's labels survive.
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"a", "1"}}));
}

TEST_F(NamespacesTest, InvalidNamesAreInvalidArgument) {
  const std::string re = "must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument";
  for (const std::string bad : {"bad/id", "-lead", "trail-", "a..b", "sp ace", "ünï"}) {
    EXPECT_TRUE(HasCode(client::CreateNamespace(*client_, bad, {}), StatusCode::kInvalidArgument,
                        "identifier \"" + bad + "\" " + re))
        << bad;
  }
  EXPECT_TRUE(HasCode(client::CreateNamespace(*client_, "", {}), StatusCode::kInvalidArgument,
                      "identifier must not be empty: invalid argument"));
  const std::string long_name(77, 'a');
  EXPECT_TRUE(HasCode(client::CreateNamespace(*client_, long_name, {}),
                      StatusCode::kInvalidArgument, "greater than maximum length (76 characters)"));
  // 76 is fine.
  EXPECT_TRUE(client::CreateNamespace(*client_, std::string(76, 'b'), {}).ok());
  // Labels are limited like everywhere else (key + value <= 4096 bytes).
  EXPECT_TRUE(
      HasCode(client::CreateNamespace(*client_, "biglabel", {{"k", std::string(4096, 'v')}}),
              StatusCode::kInvalidArgument,
              "namespace.Labels: label key and value greater than maximum size (4096 "
              "bytes), key: k"));

  // Nothing invalid was created.
  auto list = client::ListNamespaces(*client_);
  ASSERT_TRUE(list.ok());
  for (const auto& ns : *list) EXPECT_NE(ns.name(), "bad/id");
}

TEST_F(NamespacesTest, DeleteNamespaceHoldingAContainerFails) {
  const std::string name = UniqueName("busy");
  auto in_ns = daemon_.NewClient(name);
  ASSERT_TRUE(client::CreateContainer(*in_ns, MakeContainer("c1")).ok());

  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, name), StatusCode::kFailedPrecondition,
                      "namespace \"" + name + "\" must be empty, but it still has containers"));
  EXPECT_TRUE(Listed(name).has_value()) << "a refused delete removed the namespace";
  EXPECT_TRUE(client::GetContainer(*in_ns, "c1").ok()) << "the container vanished";

  ASSERT_TRUE(client::DeleteContainer(*in_ns, "c1").ok());
  EXPECT_TRUE(client::DeleteNamespace(*client_, name).ok());
  EXPECT_FALSE(Listed(name).has_value());
}

TEST_F(NamespacesTest, DeleteNamespaceHoldingALeaseFails) {
  // berth's documented rule (docs/metadata.md). Note: containerd 1.6.20's listNs does not look
  // at leases, so containerd itself would delete this namespace and its lease.
  const std::string name = UniqueName("leased");
  auto in_ns = daemon_.NewClient(name);
  ASSERT_TRUE(client::CreateLease(*in_ns, "l1", {}).ok());

  EXPECT_TRUE(HasCode(client::DeleteNamespace(*client_, name), StatusCode::kFailedPrecondition,
                      "namespace \"" + name + "\" must be empty, but it still has leases"));
  ASSERT_TRUE(client::DeleteLease(*in_ns, "l1").ok());
  EXPECT_TRUE(client::DeleteNamespace(*client_, name).ok());
}

TEST_F(NamespacesTest, CreatingAContainerCreatesItsNamespace) {
  const std::string name = UniqueName("implicit");
  ASSERT_FALSE(Listed(name).has_value());
  auto in_ns = daemon_.NewClient(name);
  ASSERT_TRUE(client::CreateContainer(*in_ns, MakeContainer("c1")).ok());
  EXPECT_TRUE(Listed(name).has_value()) << name << " not listed after creating a container in it";

  // Same for a lease, in another fresh namespace.
  const std::string other = UniqueName("implicit-lease");
  auto in_other = daemon_.NewClient(other);
  ASSERT_TRUE(client::CreateLease(*in_other, "l", {}).ok());
  EXPECT_TRUE(Listed(other).has_value());
}

TEST_F(NamespacesTest, MissingNamespaceHeaderIsFailedPrecondition) {
  auto no_ns = daemon_.NewClient("");
  EXPECT_TRUE(HasCode(client::ListContainers(*no_ns), StatusCode::kFailedPrecondition,
                      "namespace is required: failed precondition"));
  EXPECT_TRUE(HasCode(client::CreateContainer(*no_ns, MakeContainer("c")),
                      StatusCode::kFailedPrecondition, "namespace is required"));
  EXPECT_TRUE(HasCode(client::CreateLease(*no_ns, "l", {}), StatusCode::kFailedPrecondition,
                      "namespace is required"));
  EXPECT_TRUE(HasCode(client::ListLeases(*no_ns), StatusCode::kFailedPrecondition,
                      "namespace is required"));
  // An invalid namespace header is rejected too (containerd: "namespace validation: ...").
  auto bad_ns = daemon_.NewClient("bad/ns");
  EXPECT_TRUE(HasCode(client::ListContainers(*bad_ns), StatusCode::kInvalidArgument,
                      "namespace validation: identifier \"bad/ns\" must match"));
  // Namespaces themselves need no header.
  EXPECT_TRUE(client::ListNamespaces(*no_ns).ok());
}

TEST_F(NamespacesTest, CreateKeepsLabelsWithEmptyValues) {
  // containerd's namespaceStore.Create stores every label as given, empty values included
  // (only SetLabel treats "" as delete), so `ctr ns create x a=` then `ctr ns ls` shows "a=".
  const std::string name = UniqueName("empty-label");
  ASSERT_TRUE(client::CreateNamespace(*client_, name, {{"a", ""}, {"b", "1"}}).ok());
  EXPECT_EQ(LabelsOf(name), (client::Labels{{"a", ""}, {"b", "1"}}));
}

TEST_F(NamespacesTest, UpdateWithMaskCreatesAnUnknownNamespace) {
  // containerd's SetLabel creates the namespace's bucket on the way.
  const std::string name = UniqueName("set-on-unknown");
  ASSERT_TRUE(Update(name, {{"k", "v"}}, {"labels.k"}).ok());
  std::optional<client::Namespace> listed = Listed(name);
  ASSERT_TRUE(listed.has_value());
  EXPECT_EQ(listed->labels().at("k"), "v");
}

}  // namespace
}  // namespace berth::test
