// Events service against a real berthd: Subscribe filters, Publish/Forward validation, and many
// concurrent subscribers (dockerd keeps two open; every shim-heavy host many more).
// Expected codes and messages are containerd 1.6's events/exchange/exchange.go.

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/containers.h"
#include "client/events.h"
#include "client/namespaces.h"
#include "client/version.h"
#include "github.com/containerd/containerd/api/events/container.pb.h"
#include "github.com/containerd/containerd/api/events/namespace.pb.h"
#include "test/api_helpers.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

namespace eapi = containerd::services::events::v1;
using absl::StatusCode;

google::protobuf::Any NamespaceCreateAny(const std::string& name) {
  containerd::events::NamespaceCreate ev;
  ev.set_name(name);
  return MakeAny("containerd.events.NamespaceCreate", ev.SerializeAsString());
}

class EventsTest : public DaemonTest {
 protected:
  absl::Status Forward(const eapi::Envelope& envelope) {
    eapi::ForwardRequest req;
    *req.mutable_envelope() = envelope;
    google::protobuf::Empty resp;
    auto ctx = client_->NewContext();
    return client::FromGrpc(client_->events().Forward(ctx.get(), req, &resp));
  }
};

TEST_F(EventsTest, SubscribeFilterOnTopic) {
  EventStream stream(*client_, {"topic~=|^/containers/|"});
  ASSERT_TRUE(stream.WaitLive(absl::Seconds(5)));

  const std::string fresh_ns = UniqueName("evns");
  ASSERT_TRUE(client::CreateNamespace(*client_, fresh_ns, {}).ok());
  client::Container c = MakeContainer("evc");
  c.set_image("docker.io/library/busybox:latest");
  ASSERT_TRUE(client::CreateContainer(*client_, c).ok());

  std::optional<EventStream::Envelope> env =
      stream.WaitForTopic("/containers/create", absl::Seconds(5));
  ASSERT_TRUE(env.has_value()) << "no /containers/create event";
  EXPECT_EQ(env->namespace_(), ns_);
  EXPECT_GT(env->timestamp().seconds(), 0);
  EXPECT_EQ(env->event().type_url(), "containerd.events.ContainerCreate");
  containerd::events::ContainerCreate payload;
  ASSERT_TRUE(payload.ParseFromString(env->event().value()));
  EXPECT_EQ(payload.id(), "evc");
  EXPECT_EQ(payload.image(), "docker.io/library/busybox:latest");
  EXPECT_EQ(payload.runtime().name(), kRuncV2);

  // The namespace was created before the container, and events arrive in order: had the filter
  // let /namespaces/create through, it would be here already.
  for (const auto& e : stream.Received()) {
    EXPECT_TRUE(absl::StartsWith(e.topic(), "/containers/")) << "filter let through " << e.topic();
  }

  // An unfiltered stream does see namespace events (so the test above could have failed).
  EventStream all(*client_, {});
  ASSERT_TRUE(all.WaitLive(absl::Seconds(5)));
  const std::string another = UniqueName("evns2");
  ASSERT_TRUE(client::CreateNamespace(*client_, another, {}).ok());
  auto ns_env = all.WaitForTopic("/namespaces/create", absl::Seconds(5));
  ASSERT_TRUE(ns_env.has_value());
  containerd::events::NamespaceCreate ns_payload;
  ASSERT_TRUE(ns_payload.ParseFromString(ns_env->event().value()));
  EXPECT_EQ(ns_payload.name(), another);
}

TEST_F(EventsTest, SubscribeFilterOnNamespaceAndBadFilter) {
  // dockerd subscribes with "namespace==X,topic~=|^/tasks/|".
  EventStream mine(*client_, {absl::StrCat("namespace==", ns_)});
  ASSERT_TRUE(mine.WaitLive(absl::Seconds(5)));
  auto other = daemon_.NewClient(UniqueName("other"));
  ASSERT_TRUE(client::CreateContainer(*other, MakeContainer("theirs")).ok());
  ASSERT_TRUE(client::CreateContainer(*client_, MakeContainer("mine")).ok());
  auto env = mine.WaitForTopic("/containers/create", absl::Seconds(5));
  ASSERT_TRUE(env.has_value());
  containerd::events::ContainerCreate payload;
  ASSERT_TRUE(payload.ParseFromString(env->event().value()));
  EXPECT_EQ(payload.id(), "mine") << "an event of another namespace passed namespace==";
  EXPECT_EQ(mine.ReceivedCount(), 1u);

  EventStream bad(*client_, {"topic=="});
  std::optional<grpc::Status> status = bad.WaitDone(absl::Seconds(5));
  ASSERT_TRUE(status.has_value()) << "a stream with a malformed filter stayed open";
  EXPECT_EQ(status->error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status->error_message();
}

TEST_F(EventsTest, PublishValidatesTopic) {
  auto any = NamespaceCreateAny("x");
  EXPECT_TRUE(HasCode(client::PublishEvent(*client_, "bad", any), StatusCode::kInvalidArgument,
                      "envelope topic \"bad\": must start with '/': invalid argument"));
  EXPECT_TRUE(HasCode(client::PublishEvent(*client_, "", any), StatusCode::kInvalidArgument,
                      "must not be empty"));
  EXPECT_TRUE(HasCode(client::PublishEvent(*client_, "/", any), StatusCode::kInvalidArgument,
                      "must have at least one component"));
  EXPECT_TRUE(HasCode(client::PublishEvent(*client_, "/a/b@d", any), StatusCode::kInvalidArgument,
                      "failed validation on component \"b@d\""));
  auto no_ns = daemon_.NewClient("");
  EXPECT_TRUE(HasCode(client::PublishEvent(*no_ns, "/ok/topic", any),
                      StatusCode::kFailedPrecondition, "namespace is required"));

  // A good publish reaches a subscriber with the publisher's namespace.
  EventStream stream(*client_, {R"(topic=="/test/published")"});
  ASSERT_TRUE(stream.WaitLive(absl::Seconds(5)));
  ASSERT_TRUE(client::PublishEvent(*client_, "/test/published", any).ok());
  auto env = stream.WaitForTopic("/test/published", absl::Seconds(5));
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->namespace_(), ns_);
  EXPECT_EQ(env->event().type_url(), "containerd.events.NamespaceCreate");
  EXPECT_EQ(env->event().value(), any.value());
}

TEST_F(EventsTest, ForwardDeliversTheEnvelopeAsIs) {
  EventStream stream(*client_, {"topic~=^/tasks/"});
  ASSERT_TRUE(stream.WaitLive(absl::Seconds(5)));

  eapi::Envelope env;
  env.mutable_timestamp()->set_seconds(1700000000);
  env.mutable_timestamp()->set_nanos(123);
  env.set_namespace_("shim-ns");  // the envelope's own namespace, not the caller's
  env.set_topic("/tasks/exit");
  *env.mutable_event() = MakeAny("containerd.events.TaskExit", std::string("\x0a\x03"
                                                                           "abc",
                                                                           5));
  ASSERT_TRUE(Forward(env).ok());

  auto got = stream.WaitForTopic("/tasks/exit", absl::Seconds(5));
  ASSERT_TRUE(got.has_value()) << "forwarded envelope not delivered";
  EXPECT_EQ(got->namespace_(), "shim-ns");
  EXPECT_EQ(got->timestamp().seconds(), 1700000000);
  EXPECT_EQ(got->timestamp().nanos(), 123);
  EXPECT_EQ(got->event().type_url(), "containerd.events.TaskExit");
  EXPECT_EQ(got->event().value(), env.event().value());

  eapi::Envelope no_ts = env;
  no_ts.clear_timestamp();
  EXPECT_TRUE(HasCode(Forward(no_ts), StatusCode::kInvalidArgument,
                      "timestamp must be set on forwarded event"));
  eapi::Envelope go_zero_ts = env;  // what a Go client sends for time.Time{}
  go_zero_ts.mutable_timestamp()->set_seconds(-62135596800);
  go_zero_ts.mutable_timestamp()->set_nanos(0);
  EXPECT_TRUE(HasCode(Forward(go_zero_ts), StatusCode::kInvalidArgument,
                      "timestamp must be set on forwarded event"));
  eapi::Envelope bad_ns = env;
  bad_ns.set_namespace_("bad/ns");
  EXPECT_TRUE(HasCode(Forward(bad_ns), StatusCode::kInvalidArgument,
                      "event envelope has invalid namespace"));
  eapi::Envelope bad_topic = env;
  bad_topic.set_topic("tasks");
  EXPECT_TRUE(HasCode(Forward(bad_topic), StatusCode::kInvalidArgument,
                      "envelope topic \"tasks\": must start with '/'"));
  EXPECT_EQ(stream.ReceivedCount(), 1u) << "an invalid envelope was delivered";

  // Forward needs no namespace header: shims forward envelopes of any namespace.
  auto no_ns = daemon_.NewClient("");
  eapi::ForwardRequest req;
  *req.mutable_envelope() = env;
  google::protobuf::Empty resp;
  auto ctx = no_ns->NewContext();
  grpc::Status s = no_ns->events().Forward(ctx.get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(stream.WaitForCount(2, absl::Seconds(5)));
}

TEST_F(EventsTest, DisconnectedSubscriberDoesNotBreakPublish) {
  auto any = NamespaceCreateAny("x");
  auto gone = std::make_unique<EventStream>(*client_, std::vector<std::string>{});
  EventStream stays(*client_, {});
  ASSERT_TRUE(gone->WaitLive(absl::Seconds(5)));
  ASSERT_TRUE(stays.WaitLive(absl::Seconds(5)));
  ASSERT_TRUE(client::PublishEvent(*client_, "/test/one", any).ok());
  ASSERT_TRUE(gone->WaitForTopic("/test/one", absl::Seconds(5)).has_value());

  gone->Cancel();
  std::optional<grpc::Status> status = gone->WaitDone(absl::Seconds(5));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->error_code(), grpc::StatusCode::CANCELLED);
  gone.reset();

  // Publishing right after the cancel, and a burst afterwards, all succeed and reach `stays`.
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client::PublishEvent(*client_, absl::StrCat("/test/after", i), any).ok()) << i;
  }
  EXPECT_TRUE(stays.WaitForTopic("/test/after49", absl::Seconds(5)).has_value());
  EXPECT_EQ(stays.ReceivedCount(), 51u);
  auto version = client::GetVersion(*client_);
  EXPECT_TRUE(version.ok()) << version.status();
}

TEST_F(EventsTest, TwoHundredConcurrentSubscribers) {
  constexpr int kStreams = 200;
  constexpr int kChannels = 10;  // several connections, as many separate clients would have
  // Warm up: the daemon's gRPC pools have their steady-state threads after a few calls.
  {
    EventStream warm(*client_, {});
    ASSERT_TRUE(warm.WaitLive(absl::Seconds(5)));
    ASSERT_TRUE(client::GetVersion(*client_).ok());
  }
  absl::SleepFor(absl::Milliseconds(200));
  const int threads_before = ThreadCount(daemon_.pid());
  ASSERT_GT(threads_before, 0);

  std::vector<std::unique_ptr<eapi::Events::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // a connection of its own
    stubs.push_back(eapi::Events::NewStub(grpc::CreateCustomChannel(
        "unix://" + daemon_.socket(), grpc::InsecureChannelCredentials(), args)));
  }
  std::vector<std::unique_ptr<EventStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<EventStream>(
        stubs[i % kChannels].get(), std::make_unique<grpc::ClientContext>(),
        std::vector<std::string>{R"(topic=="/test/broadcast")"}));
  }
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(streams[i]->WaitLive(absl::Seconds(10))) << "stream " << i << " never went live";
  }

  // The daemon stays responsive with 200 streams open.
  for (int i = 0; i < 5; ++i) {
    absl::Time start = absl::Now();
    auto v = client::GetVersion(*client_);
    absl::Duration took = absl::Now() - start;
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_LT(took, absl::Seconds(1)) << "Version took " << took << " with 200 streams open";
  }
  const int threads_during = ThreadCount(daemon_.pid());
  std::cout << "berthd threads: " << threads_before << " before, " << threads_during << " with "
            << kStreams << " Subscribe streams open\n";
  EXPECT_LT(threads_during - threads_before, 40)
      << "berthd went from " << threads_before << " to " << threads_during
      << " threads for 200 Subscribe streams: a thread per stream?";

  ASSERT_TRUE(client::PublishEvent(*client_, "/test/broadcast", NamespaceCreateAny("b")).ok());
  int missing = 0;
  for (int i = 0; i < kStreams; ++i) {
    if (!streams[i]->WaitForCount(1, absl::Seconds(10))) ++missing;
  }
  EXPECT_EQ(missing, 0) << missing << " of 200 subscribers did not receive the event";
  for (int i = 0; i < kStreams; ++i) EXPECT_EQ(streams[i]->ReceivedCount(), 1u) << i;

  // Closing them all leaves the daemon healthy.
  streams.clear();
  auto v = client::GetVersion(*client_);
  EXPECT_TRUE(v.ok()) << v.status();
  EXPECT_TRUE(
      WaitFor([&] { return ThreadCount(daemon_.pid()) < threads_before + 40; }, absl::Seconds(5)));
}

TEST_F(EventsTest, FilterOnEventFields) {
  // containerd's envelope adaptor exposes the event's own fields as event.<field>.
  EventStream only_c2(*client_, {R"(topic=="/containers/create",event.id==c2)"});
  ASSERT_TRUE(only_c2.WaitLive(absl::Seconds(5)));
  for (const char* id : {"c1", "c2", "c3"}) {
    ASSERT_TRUE(client::CreateContainer(*client_, MakeContainer(id)).ok());
  }
  ASSERT_TRUE(client::DeleteContainer(*client_, "c2").ok());
  ASSERT_TRUE(only_c2.WaitForCount(1, absl::Seconds(5)));
  absl::SleepFor(absl::Milliseconds(200));  // room for anything the filter wrongly let through
  std::vector<EventStream::Envelope> got = only_c2.Received();
  ASSERT_EQ(got.size(), 1u);
  containerd::events::ContainerCreate payload;
  ASSERT_TRUE(payload.ParseFromString(got[0].event().value()));
  EXPECT_EQ(payload.id(), "c2");
}

}  // namespace
}  // namespace berth::test
