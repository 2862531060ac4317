#include "events/exchange.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/message.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/time.h"
#include "base/identifiers.h"
#include "base/status.h"

namespace berth::events {

google::protobuf::Any PackEvent(const google::protobuf::Message& event) {
  google::protobuf::Any any;
  any.set_type_url(event.GetDescriptor()->full_name());
  event.SerializeToString(any.mutable_value());
  return any;
}

absl::Status ValidateTopic(absl::string_view topic) {
  if (topic.empty()) return ErrInvalidArgument("must not be empty");
  if (topic[0] != '/') return ErrInvalidArgument("must start with '/'");
  if (topic.size() == 1) return ErrInvalidArgument("must have at least one component");
  for (absl::string_view component : absl::StrSplit(topic.substr(1), '/')) {
    RETURN_IF_ERROR(Annotate(ValidateIdentifier(component),
                             absl::StrCat("failed validation on component \"", component, "\"")));
  }
  return absl::OkStatus();
}

namespace {

absl::Status ValidateNamespaceAndTopic(absl::string_view ns, absl::string_view topic) {
  RETURN_IF_ERROR(Annotate(ValidateIdentifier(ns), "event envelope has invalid namespace"));
  return Annotate(ValidateTopic(topic), absl::StrCat("envelope topic \"", topic, "\""));
}

// What Forward requires of an envelope produced elsewhere, as containerd's validateEnvelope.
absl::Status ValidateForwarded(const Envelope& e) {
  RETURN_IF_ERROR(ValidateNamespaceAndTopic(e.namespace_(), e.topic()));
  if (!e.has_timestamp() || api::IsZeroTimestamp(e.timestamp())) {
    return ErrInvalidArgument("timestamp must be set on forwarded event");
  }
  if (!e.has_event()) return ErrInvalidArgument("event must not be nil");
  return absl::OkStatus();
}

// Looks up `path` (proto field names) inside the event carried by `any`, for filters such as
// `event.id==x`. Only singular scalar fields (and nested messages on the way) have values.
std::optional<std::string> EventField(const google::protobuf::Any& any,
                                      std::span<const std::string> path) {
  const google::protobuf::Descriptor* desc =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(any.type_url());
  if (desc == nullptr || path.empty()) return std::nullopt;
  const google::protobuf::Message* prototype =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc);
  if (prototype == nullptr) return std::nullopt;
  std::unique_ptr<google::protobuf::Message> msg(prototype->New());
  if (!msg->ParseFromString(any.value())) return std::nullopt;

  const google::protobuf::Message* cur = msg.get();
  for (size_t i = 0; i < path.size(); ++i) {
    const google::protobuf::FieldDescriptor* field =
        cur->GetDescriptor()->FindFieldByName(path[i]);
    if (field == nullptr || field->is_repeated()) return std::nullopt;
    const google::protobuf::Reflection* refl = cur->GetReflection();
    using FD = google::protobuf::FieldDescriptor;
    if (field->cpp_type() == FD::CPPTYPE_MESSAGE) {
      cur = &refl->GetMessage(*cur, field);
      continue;
    }
    if (i + 1 != path.size()) return std::nullopt;
    std::string value;
    switch (field->cpp_type()) {
      case FD::CPPTYPE_STRING: value = refl->GetString(*cur, field); break;
      case FD::CPPTYPE_INT32: value = absl::StrCat(refl->GetInt32(*cur, field)); break;
      case FD::CPPTYPE_INT64: value = absl::StrCat(refl->GetInt64(*cur, field)); break;
      case FD::CPPTYPE_UINT32: value = absl::StrCat(refl->GetUInt32(*cur, field)); break;
      case FD::CPPTYPE_UINT64: value = absl::StrCat(refl->GetUInt64(*cur, field)); break;
      case FD::CPPTYPE_BOOL: value = refl->GetBool(*cur, field) ? "true" : "false"; break;
      case FD::CPPTYPE_ENUM: value = refl->GetEnum(*cur, field)->name(); break;
      default: return std::nullopt;
    }
    if (value.empty()) return std::nullopt;
    return value;
  }
  return std::nullopt;
}

}  // namespace

filters::Adaptor AdaptEnvelope(const Envelope& e) {
  return [&e](std::span<const std::string> path) -> std::optional<std::string> {
    const std::string& field = path[0];
    if (field == "namespace") {
      if (e.namespace_().empty()) return std::nullopt;
      return e.namespace_();
    }
    if (field == "topic") {
      if (e.topic().empty()) return std::nullopt;
      return e.topic();
    }
    if (field == "event") return EventField(e.event(), path.subspan(1));
    return std::nullopt;
  };
}

absl::Status Exchange::Publish(absl::string_view ns, absl::string_view topic,
                               const google::protobuf::Any& event) {
  RETURN_IF_ERROR(ValidateNamespaceAndTopic(ns, topic));
  auto envelope = std::make_shared<Envelope>();
  *envelope->mutable_timestamp() = api::ToTimestamp(absl::Now());
  envelope->set_namespace_(std::string(ns));
  envelope->set_topic(std::string(topic));
  *envelope->mutable_event() = event;
  Broadcast(std::move(envelope));
  return absl::OkStatus();
}

absl::Status Exchange::Forward(const Envelope& envelope) {
  RETURN_IF_ERROR(ValidateForwarded(envelope));
  Broadcast(std::make_shared<const Envelope>(envelope));
  return absl::OkStatus();
}

void Exchange::Broadcast(std::shared_ptr<const Envelope> envelope) {
  absl::MutexLock lock(&mu_);
  if (subscriptions_.empty()) return;
  filters::Adaptor adaptor = AdaptEnvelope(*envelope);
  for (auto& [handle, sub] : subscriptions_) {
    if (sub.filter.MatchesAll() || sub.filter.Match(adaptor)) sub.sink->Deliver(envelope);
  }
}

uint64_t Exchange::Subscribe(filters::Filter filter, Sink* sink) {
  absl::MutexLock lock(&mu_);
  uint64_t handle = next_handle_++;
  subscriptions_.emplace(handle, Subscription{std::move(filter), sink});
  return handle;
}

void Exchange::Unsubscribe(uint64_t handle) {
  absl::MutexLock lock(&mu_);
  subscriptions_.erase(handle);
}

size_t Exchange::subscriber_count() const {
  absl::MutexLock lock(&mu_);
  return subscriptions_.size();
}

}  // namespace berth::events
