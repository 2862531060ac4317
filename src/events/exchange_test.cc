#include "events/exchange.h"

#include <gtest/gtest.h>

#include <vector>

#include "github.com/containerd/containerd/api/events/container.pb.h"
#include "github.com/containerd/containerd/api/events/namespace.pb.h"

namespace berth::events {
namespace {

class Collect : public Sink {
 public:
  void Deliver(std::shared_ptr<const Envelope> e) override { got.push_back(e); }
  std::vector<std::shared_ptr<const Envelope>> got;
};

filters::Filter MustParse(std::vector<std::string> fs) {
  auto f = filters::ParseAll(fs);
  EXPECT_TRUE(f.ok()) << f.status();
  return *f;
}

google::protobuf::Any ContainerCreate(std::string id) {
  containerd::events::ContainerCreate e;
  e.set_id(std::move(id));
  return PackEvent(e);
}

TEST(ExchangeTest, PacksWithBareTypeUrls) {
  EXPECT_EQ(ContainerCreate("x").type_url(), "containerd.events.ContainerCreate");
}

TEST(ExchangeTest, DeliversToMatchingSubscribersOnly) {
  Exchange ex;
  Collect all, containers, moby;
  uint64_t h1 = ex.Subscribe(filters::Filter(), &all);
  uint64_t h2 = ex.Subscribe(MustParse({"topic~=|^/containers/|"}), &containers);
  uint64_t h3 = ex.Subscribe(MustParse({"namespace==moby,topic~=|^/tasks/|"}), &moby);
  ASSERT_TRUE(ex.Publish("default", "/containers/create", ContainerCreate("c1")).ok());
  containerd::events::NamespaceCreate ns;
  ns.set_name("n");
  ASSERT_TRUE(ex.Publish("default", "/namespaces/create", PackEvent(ns)).ok());
  EXPECT_EQ(all.got.size(), 2u);
  ASSERT_EQ(containers.got.size(), 1u);
  EXPECT_EQ(containers.got[0]->topic(), "/containers/create");
  EXPECT_EQ(containers.got[0]->namespace_(), "default");
  EXPECT_GT(containers.got[0]->timestamp().seconds(), 0);
  containerd::events::ContainerCreate decoded;
  ASSERT_TRUE(decoded.ParseFromString(containers.got[0]->event().value()));
  EXPECT_EQ(decoded.id(), "c1");
  EXPECT_TRUE(moby.got.empty());
  ex.Unsubscribe(h1);
  ex.Unsubscribe(h2);
  ex.Unsubscribe(h3);
  EXPECT_EQ(ex.subscriber_count(), 0u);
  ASSERT_TRUE(ex.Publish("default", "/containers/delete", ContainerCreate("c1")).ok());
  EXPECT_EQ(all.got.size(), 2u) << "no delivery after Unsubscribe";
}

TEST(ExchangeTest, FiltersOnEventFields) {
  Exchange ex;
  Collect c;
  uint64_t h = ex.Subscribe(MustParse({"event.id==wanted"}), &c);
  ASSERT_TRUE(ex.Publish("ns", "/containers/create", ContainerCreate("other")).ok());
  ASSERT_TRUE(ex.Publish("ns", "/containers/create", ContainerCreate("wanted")).ok());
  ASSERT_EQ(c.got.size(), 1u);
  ex.Unsubscribe(h);
}

TEST(ExchangeTest, RejectsBadEnvelopes) {
  Exchange ex;
  EXPECT_EQ(ex.Publish("default", "containers", ContainerCreate("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("default", "/", ContainerCreate("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("default", "/a//b", ContainerCreate("x")).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ex.Publish("bad ns", "/a", ContainerCreate("x")).code(),
            absl::StatusCode::kInvalidArgument);
  Envelope e;
  e.set_namespace_("default");
  e.set_topic("/a");
  *e.mutable_event() = ContainerCreate("x");
  absl::Status no_time = ex.Forward(e);
  EXPECT_EQ(no_time.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(no_time.message(), "timestamp must be set on forwarded event: invalid argument");
  e.mutable_timestamp()->set_seconds(-62135596800);  // Go's zero time
  EXPECT_EQ(ex.Forward(e).code(), absl::StatusCode::kInvalidArgument);
  e.mutable_timestamp()->set_seconds(1700000000);
  EXPECT_TRUE(ex.Forward(e).ok());
  e.clear_event();
  EXPECT_EQ(ex.Forward(e).code(), absl::StatusCode::kInvalidArgument) << "event must be set";
}

TEST(ExchangeTest, ForwardKeepsTheOriginalTimestamp) {
  Exchange ex;
  Collect c;
  uint64_t h = ex.Subscribe(filters::Filter(), &c);
  Envelope e;
  e.mutable_timestamp()->set_seconds(1234);
  e.set_namespace_("default");
  e.set_topic("/tasks/exit");
  *e.mutable_event() = ContainerCreate("x");
  ASSERT_TRUE(ex.Forward(e).ok());
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0]->timestamp().seconds(), 1234);
  ex.Unsubscribe(h);
}

}  // namespace
}  // namespace berth::events
