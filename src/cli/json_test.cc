#include "cli/json.h"

#include <gtest/gtest.h>

#include "github.com/containerd/containerd/api/events/container.pb.h"
#include "github.com/containerd/containerd/api/events/namespace.pb.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"

namespace berth::cli {
namespace {

// containerd's type URLs are bare message names.
template <typename M>
google::protobuf::Any Pack(const M& message) {
  google::protobuf::Any any;
  any.set_type_url(M::descriptor()->full_name());
  any.set_value(message.SerializeAsString());
  return any;
}

TEST(JsonTest, TypeNameOfUrl) {
  EXPECT_EQ(TypeNameOfUrl("containerd.events.TaskExit"), "containerd.events.TaskExit");
  EXPECT_EQ(TypeNameOfUrl("type.googleapis.com/a.B"), "a.B");
}

TEST(JsonTest, DecodesBareTypeUrls) {
  containerd::events::NamespaceCreate event;
  event.set_name("ns1");
  (*event.mutable_labels())["a"] = "b";
  absl::StatusOr<std::string> json = AnyToJson(Pack(event));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"name":"ns1","labels":{"a":"b"}})");
}

TEST(JsonTest, DecodesTimestampsAndNestedBareAnys) {
  containerd::events::TaskExit exit;
  exit.set_container_id("c1");
  exit.set_exit_status(3);
  exit.mutable_exited_at()->set_seconds(1700000000);
  absl::StatusOr<std::string> json = AnyToJson(Pack(exit));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"containerId":"c1","exitStatus":3,"exitedAt":"2023-11-14T22:13:20Z"})");

  containerd::runc::v1::Options options;
  options.set_binary_name("crun");
  containerd::events::ContainerCreate create;
  create.set_id("c1");
  create.mutable_runtime()->set_name("io.containerd.runc.v2");
  *create.mutable_runtime()->mutable_options() = Pack(options);
  json = AnyToJson(Pack(create));
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, R"({"id":"c1","runtime":{"name":"io.containerd.runc.v2","options":)"
                   R"({"@type":"containerd.runc.v1.Options","binaryName":"crun"}}})");
}

TEST(JsonTest, UnknownTypeIsNotFound) {
  google::protobuf::Any any;
  any.set_type_url("example.com.NoSuchEvent");
  any.set_value("\x08\x01");
  EXPECT_EQ(AnyToJson(any).status().code(), absl::StatusCode::kNotFound);
  nlohmann::ordered_json value = AnyToJsonValue(any);
  EXPECT_EQ(value.dump(), R"({"@type":"example.com.NoSuchEvent","value":"CAE="})");
}

TEST(JsonTest, ContainerInfoInlinesTheSpec) {
  client::Container container;
  container.set_id("c1");
  container.set_image("docker.io/library/busybox:latest");
  container.mutable_runtime()->set_name("io.containerd.runc.v2");
  container.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Spec");
  container.mutable_spec()->set_value(R"({"ociVersion":"1.0.2","process":{"args":["sh"]}})");
  container.mutable_created_at()->set_seconds(1700000000);
  absl::StatusOr<std::string> json = ContainerToJson(container);
  ASSERT_TRUE(json.ok()) << json.status();
  nlohmann::json doc = nlohmann::json::parse(*json);
  EXPECT_EQ(doc["id"], "c1");
  EXPECT_EQ(doc["image"], "docker.io/library/busybox:latest");
  EXPECT_EQ(doc["runtime"]["name"], "io.containerd.runc.v2");
  EXPECT_EQ(doc["spec"]["ociVersion"], "1.0.2");
  EXPECT_EQ(doc["spec"]["process"]["args"][0], "sh");
  EXPECT_EQ(doc["createdAt"], "2023-11-14T22:13:20Z");
  // Indented like ctr's output.
  EXPECT_NE(json->find("\n    \"id\": \"c1\""), std::string::npos) << *json;
}

}  // namespace
}  // namespace berth::cli
