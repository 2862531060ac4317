#include "daemon/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "base/status.h"

// toml++ reports errors by exception unless told otherwise; we want its parse_result. Debian's
// shared library is built with exceptions, so compile the no-exception parser from the headers.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace berth::daemon {
namespace {

// toml++ speaks std::string_view, which Debian's abseil does not take: names cross as std::string.
absl::Status UnknownKeys(const toml::table& table, absl::string_view prefix,
                         const std::set<std::string>& known, absl::string_view source) {
  for (const auto& [key, value] : table) {
    std::string name(key.str());
    if (!known.contains(name)) {
      return ErrInvalidArgument(absl::StrCat(source, ": unknown configuration key \"", prefix,
                                             name, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadString(const toml::table& t, const char* key, absl::string_view path,
                        std::string* out, absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  auto v = node->value<std::string>();
  if (!v || !node->is_string()) {
    return ErrInvalidArgument(absl::StrCat(source, ": \"", path, "\" must be a string"));
  }
  *out = *v;
  return absl::OkStatus();
}

absl::Status ReadInt(const toml::table& t, const char* key, absl::string_view path, int* out,
                     absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  if (!node->is_integer()) {
    return ErrInvalidArgument(absl::StrCat(source, ": \"", path, "\" must be an integer"));
  }
  *out = static_cast<int>(*node->value<int64_t>());
  return absl::OkStatus();
}

absl::StatusOr<const toml::table*> Section(const toml::table& t, const char* key,
                                          absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    return ErrInvalidArgument(absl::StrCat(source, ": \"", key, "\" must be a table"));
  }
  return node->as_table();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source) {
  toml::parse_result parsed =
      toml::parse(std::string_view(text.data(), text.size()), std::string(source));
  if (!parsed) {
    const toml::parse_error& err = parsed.error();
    return ErrInvalidArgument(absl::StrCat(source, ":", err.source().begin.line, ":",
                                           err.source().begin.column, ": ", std::string(err.description())));
  }
  const toml::table& root = parsed.table();
  Config c;
  RETURN_IF_ERROR(UnknownKeys(root, "", {"version", "root", "state", "grpc", "debug", "metadata", "runtime"},
                              source));
  if (const toml::node* v = root.get("version")) {
    if (!v->is_integer() || *v->value<int64_t>() != 2) {
      return ErrInvalidArgument(absl::StrCat(source, ": \"version\" must be 2"));
    }
  }
  RETURN_IF_ERROR(ReadString(root, "root", "root", &c.root, source));
  RETURN_IF_ERROR(ReadString(root, "state", "state", &c.state, source));

  ASSIGN_OR_RETURN(const toml::table* grpc, Section(root, "grpc", source));
  if (grpc != nullptr) {
    RETURN_IF_ERROR(UnknownKeys(*grpc, "grpc.", {"address", "uid", "gid"}, source));
    RETURN_IF_ERROR(ReadString(*grpc, "address", "grpc.address", &c.grpc.address, source));
    RETURN_IF_ERROR(ReadInt(*grpc, "uid", "grpc.uid", &c.grpc.uid, source));
    RETURN_IF_ERROR(ReadInt(*grpc, "gid", "grpc.gid", &c.grpc.gid, source));
  }
  ASSIGN_OR_RETURN(const toml::table* debug, Section(root, "debug", source));
  if (debug != nullptr) {
    RETURN_IF_ERROR(UnknownKeys(*debug, "debug.", {"level"}, source));
    RETURN_IF_ERROR(ReadString(*debug, "level", "debug.level", &c.debug.level, source));
  }
  ASSIGN_OR_RETURN(const toml::table* metadata, Section(root, "metadata", source));
  if (metadata != nullptr) {
    RETURN_IF_ERROR(UnknownKeys(*metadata, "metadata.", {"sync"}, source));
    RETURN_IF_ERROR(ReadString(*metadata, "sync", "metadata.sync", &c.metadata.sync, source));
  }
  ASSIGN_OR_RETURN(const toml::table* runtime, Section(root, "runtime", source));
  if (runtime != nullptr) {
    RETURN_IF_ERROR(UnknownKeys(*runtime, "runtime.", {"runc_shim"}, source));
    RETURN_IF_ERROR(
        ReadString(*runtime, "runc_shim", "runtime.runc_shim", &c.runtime.runc_shim, source));
  }
  return c;
}

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoError(errno, absl::StrCat("open config ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseConfig(buf.str(), path);
}

std::string DefaultConfigToml() {
  Config c;
  return absl::StrCat("version = 2\n", "root = \"", c.root, "\"\n", "state = \"", c.state,
                      "\"\n\n", "[grpc]\n", "  address = \"", c.grpc.address, "\"\n",
                      "  uid = ", c.grpc.uid, "\n", "  gid = ", c.grpc.gid, "\n\n", "[debug]\n",
                      "  level = \"", c.debug.level, "\"\n\n", "[metadata]\n",
                      "  # \"normal\": commits survive a killed daemon; \"full\": also power loss\n",
                      "  sync = \"", c.metadata.sync, "\"\n\n", "[runtime]\n",
                      "  # which shim runs io.containerd.runc.v2: \"berth\" or \"containerd\"\n",
                      "  runc_shim = \"", c.runtime.runc_shim, "\"\n");
}

absl::Status Validate(const Config& c) {
  for (const auto& [name, path] : {std::pair<const char*, const std::string&>{"root", c.root},
                                   {"state", c.state},
                                   {"grpc.address", c.grpc.address}}) {
    if (path.empty() || path[0] != '/') {
      return ErrInvalidArgument(absl::StrCat(name, " must be an absolute path, got \"", path,
                                             "\""));
    }
  }
  if (c.root == c.state) return ErrInvalidArgument("root and state must be different directories");
  RETURN_IF_ERROR(log::ParseLevel(c.debug.level).status());
  if (c.metadata.sync != "normal" && c.metadata.sync != "full") {
    return ErrInvalidArgument(absl::StrCat("metadata.sync must be \"normal\" or \"full\", got \"",
                                           c.metadata.sync, "\""));
  }
  if (c.runtime.runc_shim != "berth" && c.runtime.runc_shim != "containerd") {
    return ErrInvalidArgument(absl::StrCat(
        "runtime.runc_shim must be \"berth\" or \"containerd\", got \"", c.runtime.runc_shim,
        "\""));
  }
  return absl::OkStatus();
}

}  // namespace berth::daemon
