#include "cli/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::cli {

namespace pb = google::protobuf;

namespace {

constexpr char kGooglePrefix[] = "type.googleapis.com";
constexpr char kJsonPayloadPrefix[] = "types.containerd.io/";

// Resolves type URLs by the name after their last '/', whatever their prefix (or none), so
// that containerd's bare type URLs work for the top-level message and any nested Any.
class BareNameResolver : public pb::util::TypeResolver {
 public:
  BareNameResolver()
      : pool_resolver_(pb::util::NewTypeResolverForDescriptorPool(
            kGooglePrefix, pb::DescriptorPool::generated_pool())) {}

  pb::util::Status ResolveMessageType(const std::string& type_url, pb::Type* type) override {
    return pool_resolver_->ResolveMessageType(Canonical(type_url), type);
  }
  pb::util::Status ResolveEnumType(const std::string& type_url, pb::Enum* enum_type) override {
    return pool_resolver_->ResolveEnumType(Canonical(type_url), enum_type);
  }

 private:
  static std::string Canonical(const std::string& type_url) {
    return absl::StrCat(kGooglePrefix, "/", TypeNameOfUrl(type_url));
  }
  std::unique_ptr<pb::util::TypeResolver> pool_resolver_;
};

BareNameResolver& Resolver() {
  static auto* resolver = new BareNameResolver();  // never destroyed: used until exit
  return *resolver;
}

std::string ToStdString(pb::StringPiece s) { return std::string(s.data(), s.size()); }

}  // namespace

std::string TypeNameOfUrl(const std::string& type_url) {
  size_t slash = type_url.rfind('/');
  return slash == std::string::npos ? type_url : type_url.substr(slash + 1);
}

absl::StatusOr<std::string> AnyToJson(const pb::Any& any) {
  const std::string name = TypeNameOfUrl(any.type_url());
  if (name.empty() ||
      pb::DescriptorPool::generated_pool()->FindMessageTypeByName(name) == nullptr) {
    return absl::NotFoundError(absl::StrCat("type \"", any.type_url(), "\": not found"));
  }
  std::string out;
  pb::util::Status status =
      pb::util::BinaryToJsonString(&Resolver(), absl::StrCat(kGooglePrefix, "/", name), any.value(),
                                   &out, pb::util::JsonPrintOptions());
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("decoding ", any.type_url(), ": ", ToStdString(status.message())));
  }
  return out;
}

nlohmann::ordered_json AnyToJsonValue(const pb::Any& any) {
  using nlohmann::ordered_json;
  if (absl::StartsWith(any.type_url(), kJsonPayloadPrefix)) {
    ordered_json parsed = ordered_json::parse(any.value(), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
  }
  ordered_json out = ordered_json::object();
  out["@type"] = any.type_url();
  absl::StatusOr<std::string> decoded = AnyToJson(any);
  if (decoded.ok()) {
    ordered_json fields = ordered_json::parse(*decoded, nullptr, /*allow_exceptions=*/false);
    if (fields.is_object()) {
      for (auto& [key, value] : fields.items()) out[key] = std::move(value);
      return out;
    }
  }
  out["value"] = absl::Base64Escape(any.value());
  return out;
}

absl::StatusOr<std::string> ContainerToJson(const client::Container& container) {
  using nlohmann::ordered_json;
  // Protobuf's printer cannot follow containerd's Anys: print the container without them and
  // put them back decoded.
  client::Container plain = container;
  plain.clear_spec();
  plain.clear_extensions();
  if (plain.has_runtime()) plain.mutable_runtime()->clear_options();
  std::string text;
  pb::util::Status status = pb::util::MessageToJsonString(plain, &text);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("rendering container as JSON: ", ToStdString(status.message())));
  }
  ordered_json plain_doc = ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!plain_doc.is_object()) return absl::InternalError("rendering container as JSON");
  if (container.has_runtime() && container.runtime().has_options()) {
    plain_doc["runtime"]["options"] = AnyToJsonValue(container.runtime().options());
  }
  if (container.has_spec()) plain_doc["spec"] = AnyToJsonValue(container.spec());
  if (!container.extensions().empty()) {
    // Sorted by name: the proto map has no order.
    std::map<std::string, const pb::Any*> sorted;
    for (const auto& [name, any] : container.extensions()) sorted[name] = &any;
    ordered_json extensions = ordered_json::object();
    for (const auto& [name, any] : sorted) extensions[name] = AnyToJsonValue(*any);
    plain_doc["extensions"] = std::move(extensions);
  }
  // In the message's field order, as protobuf prints it, with the Anys back in their places.
  ordered_json doc = ordered_json::object();
  const pb::Descriptor* descriptor = client::Container::descriptor();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const std::string& name = descriptor->field(i)->json_name();
    auto it = plain_doc.find(name);
    if (it != plain_doc.end()) doc[name] = std::move(*it);
  }
  return doc.dump(4);
}

}  // namespace berth::cli
