#include "daemon/config.h"

#include <fstream>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/duration.h"
#include "base/status.h"

// toml++ reports errors by exception unless told otherwise; we want its parse_result. Debian's
// shared library is built with exceptions, so compile the no-exception parser from the headers.
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace berth::daemon {
namespace {

// How a key is named in messages: "grpc.uid" for berthd's own keys; a plugin key carries its
// table's quoted id, as it is written in TOML: plugins."io.containerd.gc.v1.scheduler".x.
std::string Quoted(absl::string_view path) { return absl::StrCat("\"", path, "\""); }
std::string PluginKey(absl::string_view plugin, absl::string_view key) {
  return absl::StrCat("plugins.\"", plugin, "\"", key.empty() ? "" : ".", key);
}

// A value that says nothing: "", 0, false, [], or a table of such values. `containerd config
// default` writes dozens of these; an ignored key with one is not worth a warning.
bool IsEmptyValue(const toml::node& node) {
  if (const toml::table* t = node.as_table()) {
    for (const auto& [key, value] : *t) {
      if (!IsEmptyValue(value)) return false;
    }
    return true;
  }
  if (const toml::array* a = node.as_array()) return a->empty();
  if (node.is_string()) return node.value<std::string>()->empty();
  if (node.is_integer()) return *node.value<int64_t>() == 0;
  if (node.is_boolean()) return !*node.value<bool>();
  return false;
}

// toml++ speaks std::string_view, which Debian's abseil does not take: names cross as std::string.
// Each key of `table` must be in `used` (berthd reads it) or in `containerd_only` (containerd 1.6
// has it, berthd does not use it: noted in `ignored`); any other is an error. `name(key)` is how a
// key is shown.
absl::Status CheckKeys(const toml::table& table, const std::set<std::string>& used,
                       const std::set<std::string>& containerd_only,
                       const std::function<std::string(const std::string&)>& name,
                       absl::string_view source, std::vector<Config::Ignored>* ignored) {
  for (const auto& [key, value] : table) {
    std::string k(key.str());
    if (used.contains(k)) continue;
    if (containerd_only.contains(k)) {
      if (!IsEmptyValue(value)) {
        ignored->push_back({name(k), "a containerd setting berthd does not use"});
      }
      continue;
    }
    return ErrInvalidArgument(absl::StrCat(source, ": unknown configuration key ", name(k)));
  }
  return absl::OkStatus();
}
absl::Status CheckKeys(const toml::table& table, absl::string_view prefix,
                       const std::set<std::string>& used,
                       const std::set<std::string>& containerd_only, absl::string_view source,
                       std::vector<Config::Ignored>* ignored) {
  return CheckKeys(
      table, used, containerd_only,
      [prefix](const std::string& k) { return Quoted(absl::StrCat(prefix, k)); }, source, ignored);
}

absl::Status ReadString(const toml::table& t, const char* key, absl::string_view name,
                        std::string* out, absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  auto v = node->value<std::string>();
  if (!v || !node->is_string()) {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be a string"));
  }
  *out = *v;
  return absl::OkStatus();
}

absl::Status ReadInt(const toml::table& t, const char* key, absl::string_view name, int* out,
                     absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  if (!node->is_integer()) {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be an integer"));
  }
  const int64_t v = *node->value<int64_t>();
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " is out of range: ", v));
  }
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

// A TOML float, or an integer (`pause_threshold = 0`).
absl::Status ReadNumber(const toml::table& t, const char* key, absl::string_view name, double* out,
                        absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  if (node->is_floating_point()) {
    *out = *node->value<double>();
  } else if (node->is_integer()) {
    *out = static_cast<double>(*node->value<int64_t>());
  } else {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be a number"));
  }
  return absl::OkStatus();
}

// Go's Duration.String for what berthd prints: "0s", "100ms", "1.5s".
std::string FormatGoDuration(absl::Duration d) {
  return d == absl::ZeroDuration() ? "0s" : absl::FormatDuration(d);
}

// For messages: what a value that has the wrong type is.
std::string TypeName(const toml::node& node) {
  if (node.is_integer()) return "an integer";
  if (node.is_floating_point()) return "a float";
  if (node.is_boolean()) return "a boolean";
  if (node.is_table()) return "a table";
  if (node.is_array()) return "an array";
  return "a date or time";
}

absl::Status ReadDuration(const toml::table& t, const char* key, absl::string_view name,
                          std::optional<absl::Duration>* out, absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  std::optional<absl::Duration> d;
  if (node->is_string()) d = ParseGoDuration(*node->value<std::string>());
  if (!d) {
    return ErrInvalidArgument(absl::StrCat(
        source, ": ", name, " must be a duration string such as \"100ms\", \"1s\" or \"0s\", got ",
        node->is_string() ? Quoted(*node->value<std::string>()) : TypeName(*node)));
  }
  *out = d;
  return absl::OkStatus();
}

absl::StatusOr<const toml::table*> Section(const toml::table& t, const char* key,
                                           absl::string_view name, absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return nullptr;
  if (!node->is_table()) {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be a table"));
  }
  return node->as_table();
}
absl::StatusOr<const toml::table*> Section(const toml::table& t, const char* key,
                                           absl::string_view source) {
  return Section(t, key, Quoted(key), source);
}

absl::Status ReadGcScheduler(const toml::table& t, Config::GcScheduler* gc,
                             absl::string_view source, std::vector<Config::Ignored>* ignored) {
  auto name = [](absl::string_view key) { return PluginKey(kGcSchedulerPlugin, key); };
  RETURN_IF_ERROR(CheckKeys(t,
                            {"pause_threshold", "deletion_threshold", "mutation_threshold",
                             "schedule_delay", "startup_delay"},
                            {}, name, source, ignored));
  RETURN_IF_ERROR(
      ReadNumber(t, "pause_threshold", name("pause_threshold"), &gc->pause_threshold, source));
  RETURN_IF_ERROR(ReadInt(t, "deletion_threshold", name("deletion_threshold"),
                          &gc->deletion_threshold, source));
  RETURN_IF_ERROR(ReadInt(t, "mutation_threshold", name("mutation_threshold"),
                          &gc->mutation_threshold, source));
  std::optional<absl::Duration> schedule_delay;
  RETURN_IF_ERROR(
      ReadDuration(t, "schedule_delay", name("schedule_delay"), &schedule_delay, source));
  if (schedule_delay) gc->schedule_delay = *schedule_delay;
  return ReadDuration(t, "startup_delay", name("startup_delay"), &gc->startup_delay, source);
}

// [plugins."<id>"] tables: berthd reads the gc scheduler's. containerd skips the table of a plugin
// it does not have (cri, btrfs, ...), and so does berthd, noting it.
absl::Status ReadPlugins(const toml::table& plugins, Config* c, absl::string_view source) {
  for (const auto& [key, value] : plugins) {
    std::string id(key.str());
    if (id == kGcSchedulerPlugin || IsEmptyValue(value)) continue;
    c->ignored.push_back({PluginKey(id, ""), "berthd has no such plugin, or no settings for it"});
  }
  ASSIGN_OR_RETURN(const toml::table* gc,
                   Section(plugins, kGcSchedulerPlugin, PluginKey(kGcSchedulerPlugin, ""), source));
  if (gc != nullptr) RETURN_IF_ERROR(ReadGcScheduler(*gc, &c->gc_scheduler, source, &c->ignored));
  return absl::OkStatus();
}

// An array of strings (containerd's `required_plugins`).
absl::Status ReadStrings(const toml::table& t, const char* key, absl::string_view name,
                         std::vector<std::string>* out, absl::string_view source) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return absl::OkStatus();
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be an array of strings"));
  }
  for (const toml::node& item : *array) {
    if (!item.is_string()) {
      return ErrInvalidArgument(absl::StrCat(source, ": ", name, " must be an array of strings"));
    }
    out->push_back(*item.value<std::string>());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view text, absl::string_view source) {
  toml::parse_result parsed =
      toml::parse(std::string_view(text.data(), text.size()), std::string(source));
  if (!parsed) {
    const toml::parse_error& err = parsed.error();
    return ErrInvalidArgument(absl::StrCat(source, ":", err.source().begin.line, ":",
                                           err.source().begin.column, ": ",
                                           std::string(err.description())));
  }
  const toml::table& root = parsed.table();
  Config c;
  // containerd 1.6's top-level keys (services/server/config/config.go) that berthd does not use.
  RETURN_IF_ERROR(CheckKeys(
      root, "",
      {"version", "root", "state", "grpc", "debug", "metadata", "runtime", "plugins",
       "required_plugins"},
      {"temp", "plugin_dir", "ttrpc", "metrics", "disabled_plugins", "oom_score", "cgroup",
       "proxy_plugins", "timeouts", "imports", "stream_processors"},
      source, &c.ignored));
  RETURN_IF_ERROR(ReadStrings(root, "required_plugins", Quoted("required_plugins"),
                              &c.required_plugins, source));
  if (const toml::node* v = root.get("version")) {
    if (!v->is_integer() || *v->value<int64_t>() != 2) {
      return ErrInvalidArgument(absl::StrCat(source, ": \"version\" must be 2"));
    }
  }
  RETURN_IF_ERROR(ReadString(root, "root", Quoted("root"), &c.root, source));
  RETURN_IF_ERROR(ReadString(root, "state", Quoted("state"), &c.state, source));

  ASSIGN_OR_RETURN(const toml::table* grpc, Section(root, "grpc", source));
  if (grpc != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*grpc, "grpc.", {"address", "uid", "gid"},
                              {"tcp_address", "tcp_tls_ca", "tcp_tls_cert", "tcp_tls_key",
                               "max_recv_message_size", "max_send_message_size"},
                              source, &c.ignored));
    RETURN_IF_ERROR(ReadString(*grpc, "address", Quoted("grpc.address"), &c.grpc.address, source));
    RETURN_IF_ERROR(ReadInt(*grpc, "uid", Quoted("grpc.uid"), &c.grpc.uid, source));
    RETURN_IF_ERROR(ReadInt(*grpc, "gid", Quoted("grpc.gid"), &c.grpc.gid, source));
  }
  ASSIGN_OR_RETURN(const toml::table* debug, Section(root, "debug", source));
  if (debug != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*debug, "debug.", {"level"}, {"address", "uid", "gid", "format"},
                              source, &c.ignored));
    std::string level;
    RETURN_IF_ERROR(ReadString(*debug, "level", Quoted("debug.level"), &level, source));
    if (!level.empty()) c.debug.level = level;  // "" is containerd's "the default"
  }
  ASSIGN_OR_RETURN(const toml::table* metadata, Section(root, "metadata", source));
  if (metadata != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*metadata, "metadata.", {"sync"}, {}, source, &c.ignored));
    RETURN_IF_ERROR(
        ReadString(*metadata, "sync", Quoted("metadata.sync"), &c.metadata.sync, source));
  }
  ASSIGN_OR_RETURN(const toml::table* runtime, Section(root, "runtime", source));
  if (runtime != nullptr) {
    RETURN_IF_ERROR(CheckKeys(*runtime, "runtime.", {"runc_shim"}, {}, source, &c.ignored));
    RETURN_IF_ERROR(ReadString(*runtime, "runc_shim", Quoted("runtime.runc_shim"),
                               &c.runtime.runc_shim, source));
  }
  ASSIGN_OR_RETURN(const toml::table* plugins, Section(root, "plugins", source));
  if (plugins != nullptr) RETURN_IF_ERROR(ReadPlugins(*plugins, &c, source));
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
  const Config::GcScheduler& gc = c.gc_scheduler;
  std::string out;
  // One TOML line per call.
  absl::StrAppend(&out, "version = 2\n");
  absl::StrAppend(&out, "root = \"", c.root, "\"\n");
  absl::StrAppend(&out, "state = \"", c.state, "\"\n\n");
  absl::StrAppend(&out, "[grpc]\n");
  absl::StrAppend(&out, "  address = \"", c.grpc.address, "\"\n");
  absl::StrAppend(&out, "  uid = ", c.grpc.uid, "\n");
  absl::StrAppend(&out, "  gid = ", c.grpc.gid, "\n\n");
  absl::StrAppend(&out, "[debug]\n");
  absl::StrAppend(&out, "  level = \"", c.debug.level, "\"\n\n");
  absl::StrAppend(&out, "[metadata]\n");
  absl::StrAppend(&out,
                  "  # \"normal\": commits survive a killed daemon; \"full\": also power loss\n");
  absl::StrAppend(&out, "  sync = \"", c.metadata.sync, "\"\n\n");
  absl::StrAppend(&out, "[runtime]\n");
  absl::StrAppend(&out, "  # which shim runs io.containerd.runc.v2: \"berth\" or \"containerd\"\n");
  absl::StrAppend(&out, "  runc_shim = \"", c.runtime.runc_shim, "\"\n\n");
  // containerd's gc scheduler: its keys and defaults, printed as `containerd config default` does.
  absl::StrAppend(&out, "[plugins]\n");
  absl::StrAppend(&out, "  [plugins.\"", kGcSchedulerPlugin, "\"]\n");
  absl::StrAppend(&out, "    pause_threshold = ", gc.pause_threshold, "\n");
  absl::StrAppend(&out, "    deletion_threshold = ", gc.deletion_threshold, "\n");
  absl::StrAppend(&out, "    mutation_threshold = ", gc.mutation_threshold, "\n");
  absl::StrAppend(&out, "    schedule_delay = \"", FormatGoDuration(gc.schedule_delay), "\"\n");
  absl::StrAppend(&out, "    # unset: one collection before berthd serves; set: containerd's\n");
  absl::StrAppend(&out, "    # timed first collection that long after start (\"0s\": none)\n");
  absl::StrAppend(&out, "    # startup_delay = \"100ms\"\n");
  return out;
}

absl::Status Validate(const Config& c) {
  for (const auto& [name, path] : {std::pair<const char*, const std::string&>{"root", c.root},
                                   {"state", c.state},
                                   {"grpc.address", c.grpc.address}}) {
    if (path.empty() || path[0] != '/') {
      return ErrInvalidArgument(
          absl::StrCat(name, " must be an absolute path, got \"", path, "\""));
    }
  }
  if (c.root == c.state) return ErrInvalidArgument("root and state must be different directories");
  RETURN_IF_ERROR(log::ParseLevel(c.debug.level).status());
  if (c.metadata.sync != "normal" && c.metadata.sync != "full") {
    return ErrInvalidArgument(absl::StrCat("metadata.sync must be \"normal\" or \"full\", got \"",
                                           c.metadata.sync, "\""));
  }
  if (c.runtime.runc_shim != "berth" && c.runtime.runc_shim != "containerd") {
    return ErrInvalidArgument(
        absl::StrCat("runtime.runc_shim must be \"berth\" or \"containerd\", got \"",
                     c.runtime.runc_shim, "\""));
  }
  const Config::GcScheduler& gc = c.gc_scheduler;
  auto key = [](absl::string_view k) { return PluginKey(kGcSchedulerPlugin, k); };
  // Written so that NaN fails too.
  if (!(gc.pause_threshold >= 0 && gc.pause_threshold <= 0.5)) {
    return ErrInvalidArgument(absl::StrCat(key("pause_threshold"),
                                           " must be between 0 and 0.5, got ", gc.pause_threshold));
  }
  for (const auto& [name, value] :
       {std::pair<const char*, int>{"deletion_threshold", gc.deletion_threshold},
        {"mutation_threshold", gc.mutation_threshold}}) {
    if (value < 0) {
      return ErrInvalidArgument(absl::StrCat(key(name), " must not be negative, got ", value));
    }
  }
  for (const auto& [name, value] :
       {std::pair<const char*, std::optional<absl::Duration>>{"schedule_delay", gc.schedule_delay},
        {"startup_delay", gc.startup_delay}}) {
    if (value && *value < absl::ZeroDuration()) {
      return ErrInvalidArgument(
          absl::StrCat(key(name), " must not be negative, got \"", FormatGoDuration(*value), "\""));
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::daemon
