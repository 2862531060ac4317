#include "metadata/namespaces.h"

#include <gtest/gtest.h>

#include "metadata/test_util.h"

namespace berth::metadata {
namespace {

Container MinimalContainer(std::string id) {
  Container c;
  c.id = std::move(id);
  c.runtime.name = "io.containerd.runc.v2";
  c.spec = Any{.type_url = "types.containerd.io/opencontainers/runtime-spec/1/Spec", .value = "{}"};
  return c;
}

TEST(NamespaceStoreTest, CreateGetListDelete) {
  TempStore store;
  auto& ns = store->namespaces();
  ASSERT_TRUE(ns.Create({.name = "a", .labels = {{"k", "v"}}}).ok());
  ASSERT_TRUE(ns.Create({.name = "b"}).ok());
  auto got = ns.Get("a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->labels, (Labels{{"k", "v"}}));
  auto list = ns.List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].name, "b");
  ASSERT_TRUE(ns.Delete("a").ok());
  EXPECT_EQ(ns.Delete("a").code(), absl::StatusCode::kNotFound);
}

TEST(NamespaceStoreTest, DuplicateAndInvalid) {
  TempStore store;
  auto& ns = store->namespaces();
  ASSERT_TRUE(ns.Create({.name = "a"}).ok());
  absl::Status dup = ns.Create({.name = "a"});
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "namespace \"a\": already exists");
  EXPECT_EQ(ns.Create({.name = "a/b"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ns.Create({.name = "big", .labels = {{"k", std::string(5000, 'v')}}}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NamespaceStoreTest, GetOfUnknownIsEmptyNotAnError) {
  TempStore store;
  auto got = store->namespaces().Get("nothing");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->labels.empty());
  EXPECT_TRUE(store->namespaces().List()->empty()) << "Get must not create";
}

TEST(NamespaceStoreTest, UpdateWithMaskSetsAndRemovesLabels) {
  TempStore store;
  auto& ns = store->namespaces();
  ASSERT_TRUE(ns.Create({.name = "a", .labels = {{"keep", "1"}, {"drop", "2"}}}).ok());
  auto updated = ns.Update({.name = "a", .labels = {{"new", "3"}}}, {"labels.new", "labels.drop"});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels, (Labels{{"keep", "1"}, {"new", "3"}}));
  EXPECT_EQ(ns.Get("a")->labels, updated->labels);
}

TEST(NamespaceStoreTest, UpdateWithoutMaskReplacesAndCreates) {
  TempStore store;
  auto& ns = store->namespaces();
  auto updated = ns.Update({.name = "fresh", .labels = {{"a", "1"}, {"empty", ""}}}, {});
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->labels, (Labels{{"a", "1"}}));
  EXPECT_EQ(ns.List()->size(), 1u) << "labelling an unknown namespace creates it";
  EXPECT_EQ(ns.Update({.name = "fresh"}, {"name"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(NamespaceStoreTest, DeleteRefusesWhileHoldingContainersOrLeases) {
  TempStore store;
  ASSERT_TRUE(store->containers().Create("busy", MinimalContainer("c1")).ok());
  ASSERT_TRUE(store->leases().Create("busy", "l1", {}).ok());
  absl::Status s = store->namespaces().Delete("busy");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "namespace \"busy\" must be empty, but it still has containers, leases: failed "
            "precondition");
  ASSERT_TRUE(store->containers().Delete("busy", "c1").ok());
  ASSERT_TRUE(store->leases().Delete("busy", "l1").ok());
  EXPECT_TRUE(store->namespaces().Delete("busy").ok());
}

}  // namespace
}  // namespace berth::metadata
