#include "shim/bundle.h"

#include <sys/un.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "shim/sha256.h"
#include "sys/file.h"

namespace berth::shim {
namespace {

// A JSON object read from a bundle file; discarded (not an object) on any parse error.
nlohmann::json ReadJsonObject(const std::string& path, absl::Status* error) {
  auto text = sys::ReadFile(path);
  if (!text.ok()) {
    *error = text.status();
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    *error = absl::InvalidArgumentError(absl::StrCat(path, ": malformed JSON"));
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
  return j;
}

}  // namespace

std::string JoinPath(absl::string_view dir, absl::string_view name) {
  if (dir.empty()) return std::string(name);
  if (absl::EndsWith(dir, "/")) return absl::StrCat(dir, name);
  return absl::StrCat(dir, "/", name);
}

absl::StatusOr<std::string> SocketPath(absl::string_view address, absl::string_view ns,
                                       absl::string_view group) {
  absl::string_view addr = address;
  absl::ConsumePrefix(&addr, "unix://");
  if (addr.empty()) return absl::InvalidArgumentError("shim: -address is required");
  std::string dir = sys::Dirname(std::string(addr));
  std::string path =
      absl::StrCat(JoinPath(dir, "s"), "/", Sha256Hex(absl::StrCat(addr, "/", ns, "/", group)));
  if (path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shim socket path \"", path, "\" is ", path.size(),
        " bytes, longer than a unix socket address allows (107): use a shorter -address"));
  }
  return path;
}

absl::StatusOr<std::string> GroupId(const std::string& bundle, const std::string& id) {
  absl::Status error;
  nlohmann::json spec = ReadJsonObject(JoinPath(bundle, "config.json"), &error);
  if (spec.is_discarded()) return error;
  auto annotations = spec.find("annotations");
  if (annotations != spec.end() && annotations->is_object()) {
    for (const char* key : {"io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"}) {
      auto it = annotations->find(key);
      if (it != annotations->end() && it->is_string() && !it->get<std::string>().empty()) {
        return it->get<std::string>();
      }
    }
  }
  return id;
}

bool ShouldKillAllOnExit(const std::string& bundle) {
  absl::Status error;
  nlohmann::json spec = ReadJsonObject(JoinPath(bundle, "config.json"), &error);
  if (spec.is_discarded()) return true;
  auto linux_ = spec.find("linux");
  if (linux_ == spec.end() || !linux_->is_object()) return true;
  auto namespaces = linux_->find("namespaces");
  if (namespaces == linux_->end() || !namespaces->is_array()) return true;
  for (const nlohmann::json& ns : *namespaces) {
    if (!ns.is_object()) continue;
    auto type = ns.find("type");
    auto path = ns.find("path");
    bool no_path = path == ns.end() || (path->is_string() && path->get<std::string>().empty());
    if (type != ns.end() && type->is_string() && type->get<std::string>() == "pid" && no_path) {
      return false;
    }
  }
  return true;
}

absl::StatusOr<containerd::runc::v1::Options> ParseOptions(const google::protobuf::Any& any) {
  containerd::runc::v1::Options opts;
  if (any.type_url().empty()) return opts;
  absl::string_view type = any.type_url();
  if (size_t slash = type.rfind('/'); slash != absl::string_view::npos) {
    type.remove_prefix(slash + 1);
  }
  if (type != kOptionsTypeUrl) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported runtime options type \"", any.type_url(), "\" (want ", kOptionsTypeUrl, ")"));
  }
  if (!opts.ParseFromString(any.value())) {
    return absl::InvalidArgumentError("malformed containerd.runc.v1.Options");
  }
  return opts;
}

std::string DefaultRuntimeRoot(absl::string_view address) {
  absl::string_view addr = address;
  absl::ConsumePrefix(&addr, "unix://");
  return JoinPath(sys::Dirname(std::string(addr)), "runc");
}

absl::Status WriteOptions(const std::string& bundle, const containerd::runc::v1::Options& opts) {
  // The JSON containerd's shim writes (Go's encoding/json of the gogo struct: proto field names,
  // zero values omitted), so either shim's `delete` can read the other's file.
  nlohmann::json j = nlohmann::json::object();
  if (opts.no_pivot_root()) j["no_pivot_root"] = true;
  if (opts.no_new_keyring()) j["no_new_keyring"] = true;
  if (!opts.shim_cgroup().empty()) j["shim_cgroup"] = opts.shim_cgroup();
  if (opts.io_uid() != 0) j["io_uid"] = opts.io_uid();
  if (opts.io_gid() != 0) j["io_gid"] = opts.io_gid();
  if (!opts.binary_name().empty()) j["binary_name"] = opts.binary_name();
  if (!opts.root().empty()) j["root"] = opts.root();
  if (!opts.criu_path().empty()) j["criu_path"] = opts.criu_path();
  if (opts.systemd_cgroup()) j["systemd_cgroup"] = true;
  if (!opts.criu_image_path().empty()) j["criu_image_path"] = opts.criu_image_path();
  if (!opts.criu_work_path().empty()) j["criu_work_path"] = opts.criu_work_path();
  RETURN_IF_ERROR(sys::WriteFile(JoinPath(bundle, "options.json"), j.dump(), 0600));
  return sys::WriteFile(JoinPath(bundle, "runtime"), opts.binary_name(), 0600);
}

absl::StatusOr<containerd::runc::v1::Options> ReadOptions(const std::string& bundle) {
  absl::Status error;
  nlohmann::json j = ReadJsonObject(JoinPath(bundle, "options.json"), &error);
  if (j.is_discarded()) return error;
  containerd::runc::v1::Options opts;
  auto str = [&j](const char* key) -> std::string {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  auto boolean = [&j](const char* key) {
    auto it = j.find(key);
    return it != j.end() && it->is_boolean() && it->get<bool>();
  };
  auto number = [&j](const char* key) -> uint32_t {
    auto it = j.find(key);
    return it != j.end() && it->is_number_unsigned() ? it->get<uint32_t>() : 0;
  };
  opts.set_no_pivot_root(boolean("no_pivot_root"));
  opts.set_no_new_keyring(boolean("no_new_keyring"));
  opts.set_shim_cgroup(str("shim_cgroup"));
  opts.set_io_uid(number("io_uid"));
  opts.set_io_gid(number("io_gid"));
  opts.set_binary_name(str("binary_name"));
  opts.set_root(str("root"));
  opts.set_criu_path(str("criu_path"));
  opts.set_systemd_cgroup(boolean("systemd_cgroup"));
  opts.set_criu_image_path(str("criu_image_path"));
  opts.set_criu_work_path(str("criu_work_path"));
  if (opts.binary_name().empty()) {
    // containerd's shim also keeps the binary name in "runtime".
    auto runtime = sys::ReadFile(JoinPath(bundle, "runtime"));
    if (runtime.ok()) opts.set_binary_name(std::string(absl::StripAsciiWhitespace(*runtime)));
  }
  return opts;
}

absl::StatusOr<int> ReadPidFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, sys::ReadFile(path));
  int pid = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &pid) || pid <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no pid in \"", text, "\""));
  }
  return pid;
}

absl::Status WriteAddress(const std::string& bundle, const std::string& address) {
  // Readers (berthd, a second `start`) must never see half an address; durability is moot:
  // after a reboot there is no shim to reach.
  return sys::ReplaceFile(JoinPath(bundle, "address"), address, 0600);
}

}  // namespace berth::shim
