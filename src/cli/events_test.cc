#include "cli/events.h"

#include <gtest/gtest.h>

#include "github.com/containerd/containerd/api/events/namespace.pb.h"

namespace berth::cli {
namespace {

client::Envelope MakeEnvelope() {
  client::Envelope envelope;
  envelope.mutable_timestamp()->set_seconds(1700000000);
  envelope.mutable_timestamp()->set_nanos(5000);
  envelope.set_namespace_("ns1");
  envelope.set_topic("/namespaces/create");
  return envelope;
}

TEST(FormatEventLineTest, KnownEventAsJson) {
  client::Envelope envelope = MakeEnvelope();
  containerd::events::NamespaceCreate event;
  event.set_name("ns1");
  envelope.mutable_event()->set_type_url("containerd.events.NamespaceCreate");
  envelope.mutable_event()->set_value(event.SerializeAsString());
  EXPECT_EQ(FormatEventLine(envelope, absl::UTCTimeZone()),
            R"(2023-11-14T22:13:20.000005Z ns1 /namespaces/create {"name":"ns1"})");
}

TEST(FormatEventLineTest, UnknownEventAsTypeUrl) {
  client::Envelope envelope = MakeEnvelope();
  envelope.mutable_event()->set_type_url("example.Unknown");
  envelope.mutable_event()->set_value("junk");
  EXPECT_EQ(FormatEventLine(envelope, absl::UTCTimeZone()),
            "2023-11-14T22:13:20.000005Z ns1 /namespaces/create example.Unknown");
}

}  // namespace
}  // namespace berth::cli
