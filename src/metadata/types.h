// The domain records kept in the metadata database. Services translate these to and from the
// containerd protos; nothing here depends on protobuf.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "base/labels.h"

namespace berth::metadata {

// A google.protobuf.Any kept opaque: containerd's clients decide what it holds.
struct Any {
  std::string type_url;
  std::string value;
  bool operator==(const Any&) const = default;
};

struct Namespace {
  std::string name;
  Labels labels;
};

struct Container {
  struct Runtime {
    std::string name;
    std::optional<Any> options;
  };
  std::string id;
  Labels labels;
  std::string image;
  Runtime runtime;
  std::optional<Any> spec;
  std::string snapshotter;
  std::string snapshot_key;
  absl::Time created_at;
  absl::Time updated_at;
  std::map<std::string, Any> extensions;
};

// An OCI descriptor as images keep it: what the image name points at.
struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  bool operator==(const Descriptor&) const = default;
};

struct Image {
  std::string name;
  Labels labels;
  Descriptor target;
  absl::Time created_at;
  absl::Time updated_at;
};

struct Lease {
  std::string id;
  absl::Time created_at;
  Labels labels;
};

// A resource a lease keeps alive: type "content" (id = digest), "ingests" (id = ref),
// "snapshots/<snapshotter>" (id = key).
struct LeaseResource {
  std::string id;
  std::string type;
  bool operator==(const LeaseResource&) const = default;
};

}  // namespace berth::metadata
