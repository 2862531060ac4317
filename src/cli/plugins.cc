// berth plugins ls [-q] [-d] [filters...]: the daemon's plugins, like `ctr plugins ls`.

#include <iostream>
#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/command.h"
#include "cli/table.h"
#include "client/introspection.h"

namespace berth::cli {

namespace {

// containerd's plugin.ErrSkipPlugin: a plugin that chose not to load is "skip", not "error".
constexpr char kSkipPlugin[] = "skip plugin";

// Go's names for gRPC codes, as ctr prints them.
std::string GrpcCodeName(int code) {
  static const char* const kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < static_cast<int>(std::size(kNames))) return kNames[code];
  return absl::StrCat("Code(", code, ")");
}

// Sorted, de-duplicated "os/arch[/variant]" like containerd's platforms.Format.
std::string FormatPlatforms(const client::Plugin& plugin) {
  std::set<std::string> platforms;
  for (const auto& p : plugin.platforms()) {
    if (p.os().empty()) {
      platforms.insert("unknown");
      continue;
    }
    std::string s = p.os();
    if (!p.architecture().empty()) absl::StrAppend(&s, "/", p.architecture());
    if (!p.variant().empty()) absl::StrAppend(&s, "/", p.variant());
    platforms.insert(std::move(s));
  }
  return absl::StrJoin(platforms, ",");
}

std::string Status(const client::Plugin& plugin) {
  if (!plugin.has_init_err()) return "ok";
  return absl::StrContains(plugin.init_err().message(), kSkipPlugin) ? "skip" : "error";
}

void PrintDetailed(const std::vector<client::Plugin>& plugins) {
  Table table({});
  bool first = true;
  for (const auto& plugin : plugins) {
    // Rows keep an (empty) second cell so the first column lines up across all plugins.
    if (!first) table.AddRow({"", ""});
    first = false;
    table.AddRow({"Type:", plugin.type()});
    table.AddRow({"ID:", plugin.id()});
    if (!plugin.requires_().empty()) {
      table.AddRow({"Requires:", ""});
      for (const auto& r : plugin.requires_()) table.AddRow({"", r});
    }
    if (!plugin.platforms().empty()) table.AddRow({"Platforms:", FormatPlatforms(plugin)});
    if (!plugin.exports().empty()) {
      table.AddRow({"Exports:", ""});
      std::map<std::string, std::string> exports(plugin.exports().begin(), plugin.exports().end());
      for (const auto& [k, v] : exports) table.AddRow({"", k, v});
    }
    if (!plugin.capabilities().empty()) {
      table.AddRow({"Capabilities:", absl::StrJoin(plugin.capabilities(), ",")});
    }
    if (plugin.has_init_err()) {
      table.AddRow({"Error:", ""});
      table.AddRow({"", "Code:", GrpcCodeName(plugin.init_err().code())});
      table.AddRow({"", "Message:", plugin.init_err().message()});
    }
  }
  table.Print(std::cout);
}

absl::Status List(Env& env, bool quiet, bool detailed, const std::vector<std::string>& filters) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<std::vector<client::Plugin>> plugins = client::ListPlugins(**c, filters);
  if (!plugins.ok()) return plugins.status();
  if (quiet) {
    for (const auto& plugin : *plugins) std::cout << plugin.id() << "\n";
    return absl::OkStatus();
  }
  if (detailed) {
    PrintDetailed(*plugins);
    return absl::OkStatus();
  }
  Table table({"TYPE", "ID", "PLATFORMS", "STATUS"});
  for (const auto& plugin : *plugins) {
    std::string platforms = FormatPlatforms(plugin);
    table.AddRow({plugin.type(), plugin.id(), platforms.empty() ? "-" : platforms, Status(plugin)});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

}  // namespace

void SetupPlugins(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);
  auto quiet = std::make_shared<bool>(false);
  auto detailed = std::make_shared<bool>(false);
  auto filters = std::make_shared<std::vector<std::string>>();
  CLI::App* ls = noun.add_subcommand("ls", "List the daemon's plugins")->alias("list");
  ls->add_flag("-q,--quiet", *quiet, "Print only the plugin ids");
  ls->add_flag("-d,--detailed", *detailed, "Print everything known about each plugin");
  ls->add_option("filters", *filters, "Filters, e.g. 'type==io.containerd.snapshotter.v1'");
  ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet, *detailed, *filters); }; });
}

}  // namespace berth::cli
