// JSON renderings of containerd messages for the CLI.
//
// containerd packs typed values in google.protobuf.Any with *bare* type URLs
// ("containerd.events.TaskExit", "containerd.runc.v1.Options"), which protobuf's own JSON
// printer rejects, and the OCI spec and process as JSON bytes
// ("types.containerd.io/opencontainers/runtime-spec/1/Spec"). These functions resolve bare
// names against the generated descriptor pool (also for Anys nested inside a message) and
// inline JSON payloads as JSON.
// Thread-safe: pure functions over immutable descriptor data.
#pragma once

#include <google/protobuf/any.pb.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "client/containers.h"

namespace berth::cli {

// The message type name of a type URL: what follows the last '/', or the whole URL.
std::string TypeNameOfUrl(const std::string& type_url);

// Compact JSON of the message packed in `any`, its type found by name in the descriptor pool.
// NotFound when this binary does not know the type, InvalidArgument when the bytes do not
// parse as that type.
absl::StatusOr<std::string> AnyToJson(const google::protobuf::Any& any);

// `any` as a value to embed in a larger JSON document: a JSON payload (type URL under
// types.containerd.io/) as its parsed JSON; a known message as {"@type": url, ...fields};
// anything else as {"@type": url, "value": base64}.
nlohmann::ordered_json AnyToJsonValue(const google::protobuf::Any& any);

// `container` as indented JSON (4 spaces, like ctr): proto3 JSON field names, the spec inlined
// as the OCI JSON it carries, runtime options and extensions decoded where known.
absl::StatusOr<std::string> ContainerToJson(const client::Container& container);

}  // namespace berth::cli
