#include "metadata/containers.h"

#include <gtest/gtest.h>

#include "metadata/test_util.h"

namespace berth::metadata {
namespace {

Container Sample(std::string id) {
  Container c;
  c.id = std::move(id);
  c.labels = {{"a.b", "v"}, {"env", "prod"}};
  c.image = "docker.io/library/busybox:latest";
  c.runtime.name = "io.containerd.runc.v2";
  c.runtime.options = Any{.type_url = "containerd.runc.v1.Options", .value = std::string("\x0a\x01x", 3)};
  c.spec = Any{.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Spec",
               .value = R"({"ociVersion":"1.0.2"})"};
  c.snapshotter = "overlayfs";
  c.snapshot_key = c.id;
  c.extensions["ext"] = Any{.type_url = "x.y.Z", .value = std::string("\0\1", 2)};
  return c;
}

std::vector<std::string> Ids(const std::vector<Container>& cs) {
  std::vector<std::string> out;
  for (const auto& c : cs) out.push_back(c.id);
  return out;
}

TEST(ContainerStoreTest, CreateThenGetRoundTripsEveryField) {
  TempStore store;
  auto created = store->containers().Create("ns", Sample("c1"));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->created_at, created->updated_at);
  auto got = store->containers().Get("ns", "c1");
  ASSERT_TRUE(got.ok());
  Container want = Sample("c1");
  EXPECT_EQ(got->labels, want.labels);
  EXPECT_EQ(got->image, want.image);
  EXPECT_EQ(got->runtime.name, want.runtime.name);
  EXPECT_EQ(got->runtime.options, want.runtime.options);
  EXPECT_EQ(got->spec, want.spec);
  EXPECT_EQ(got->snapshotter, want.snapshotter);
  EXPECT_EQ(got->snapshot_key, want.snapshot_key);
  EXPECT_EQ(got->extensions, want.extensions);
  EXPECT_EQ(got->created_at, created->created_at);
}

TEST(ContainerStoreTest, NamespacesAreIsolated) {
  TempStore store;
  ASSERT_TRUE(store->containers().Create("a", Sample("c1")).ok());
  auto other = store->containers().Get("b", "c1");
  EXPECT_EQ(other.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(other.status().message(), "container \"c1\" in namespace \"b\": not found");
  EXPECT_TRUE(store->containers().Create("b", Sample("c1")).ok());
}

TEST(ContainerStoreTest, ValidationLikeContainerd) {
  TempStore store;
  auto& cs = store->containers();
  Container c = Sample("c1");
  c.spec.reset();
  EXPECT_EQ(cs.Create("ns", c).status().message(),
            "create container failed validation: container.Spec must be set: invalid argument");
  c = Sample("c1");
  c.runtime.name.clear();
  EXPECT_EQ(cs.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("bad id");
  EXPECT_EQ(cs.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  c = Sample("c1");
  c.snapshotter.clear();
  EXPECT_EQ(cs.Create("ns", c).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(cs.Create("ns", Sample("c1")).ok());
  EXPECT_EQ(cs.Create("ns", Sample("c1")).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(ContainerStoreTest, ListFilters) {
  TempStore store;
  auto& cs = store->containers();
  Container x = Sample("x1");
  Container y = Sample("y1");
  y.labels = {{"env", "dev"}};
  y.image = "docker.io/library/alpine:latest";
  ASSERT_TRUE(cs.Create("ns", x).ok());
  ASSERT_TRUE(cs.Create("ns", y).ok());
  auto list = [&](std::vector<std::string> fs) {
    auto r = cs.List("ns", fs);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? Ids(*r) : std::vector<std::string>{};
  };
  EXPECT_EQ(list({}), (std::vector<std::string>{"x1", "y1"}));
  EXPECT_EQ(list({"labels.env==dev"}), (std::vector<std::string>{"y1"}));
  EXPECT_EQ(list({R"(labels."a.b"==v)"}), (std::vector<std::string>{"x1"}));
  EXPECT_EQ(list({"image~=alpine"}), (std::vector<std::string>{"y1"}));
  EXPECT_EQ(list({"runtime.name==io.containerd.runc.v2,id==x1"}),
            (std::vector<std::string>{"x1"}));
  EXPECT_EQ(list({"id==x1", "id==y1"}), (std::vector<std::string>{"x1", "y1"}));
  EXPECT_EQ(cs.List("ns", std::vector<std::string>{"id=="}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ContainerStoreTest, UpdateWithFieldMask) {
  TempStore store;
  auto& cs = store->containers();
  auto created = cs.Create("ns", Sample("c1"));
  ASSERT_TRUE(created.ok());
  Container in;
  in.id = "c1";
  in.labels = {{"env", "test"}, {"new", "1"}};
  in.image = "other";
  auto updated = cs.Update("ns", in, {"labels.env", "labels.a.b", "image"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels, (Labels{{"env", "test"}})) << "labels.a.b absent in request = removed";
  EXPECT_EQ(updated->image, "other");
  EXPECT_EQ(updated->spec, Sample("c1").spec) << "fields outside the mask are kept";
  EXPECT_GT(updated->updated_at, created->updated_at);
  EXPECT_EQ(updated->created_at, created->created_at);
  EXPECT_EQ(cs.Get("ns", "c1")->image, "other");

  EXPECT_EQ(cs.Update("ns", in, {"runtime"}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cs.Update("ns", in, {"labels"}).ok(), true);
  in.id = "missing";
  EXPECT_EQ(cs.Update("ns", in, {"image"}).status().code(), absl::StatusCode::kNotFound);
}

TEST(ContainerStoreTest, UpdateWithoutMaskReplacesMutableAndGuardsImmutable) {
  TempStore store;
  auto& cs = store->containers();
  ASSERT_TRUE(cs.Create("ns", Sample("c1")).ok());
  Container in = Sample("c1");
  in.snapshotter = "native";
  auto s = cs.Update("ns", in, {});
  EXPECT_EQ(s.status().message(), "container.Snapshotter field is immutable: invalid argument");
  in = Sample("c1");
  in.extensions.clear();
  in.labels = {};
  auto updated = cs.Update("ns", in, {});
  ASSERT_TRUE(updated.ok());
  EXPECT_TRUE(updated->extensions.empty());
  EXPECT_TRUE(cs.Get("ns", "c1")->extensions.empty());
  EXPECT_TRUE(cs.Get("ns", "c1")->labels.empty());
}

TEST(ContainerStoreTest, DeleteRemovesExtensionsToo) {
  TempStore store;
  auto& cs = store->containers();
  ASSERT_TRUE(cs.Create("ns", Sample("c1")).ok());
  ASSERT_TRUE(cs.Delete("ns", "c1").ok());
  EXPECT_EQ(cs.Delete("ns", "c1").code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(cs.Create("ns", Sample("c1")).ok()) << "re-create after delete";
  EXPECT_EQ(cs.Get("ns", "c1")->extensions.size(), 1u);
}

}  // namespace
}  // namespace berth::metadata
