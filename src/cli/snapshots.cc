// berth snapshots (alias snapshot): ls, tree, usage, rm, of one snapshotter (--snapshotter,
// env BERTH_SNAPSHOTTER, default overlayfs). Images unpack into committed snapshots named by
// their layers' chain IDs.

#include "client/snapshots.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "cli/command.h"
#include "cli/human.h"
#include "cli/snapshot_tree.h"
#include "cli/table.h"

namespace berth::cli {

namespace {

absl::Status List(Env& env, const std::string& snapshotter, bool quiet,
                  const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::SnapshotInfo> list,
                   client::ListSnapshots(*c, snapshotter, filters));
  if (quiet) {
    for (const auto& info : list) std::cout << info.name() << "\n";
    return absl::OkStatus();
  }
  Table table({"KEY", "PARENT", "KIND"});
  for (const auto& info : list) {
    table.AddRow({info.name(), info.parent(), std::string(client::SnapshotKindName(info.kind()))});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

absl::Status Tree(Env& env, const std::string& snapshotter) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::SnapshotInfo> list, client::ListSnapshots(*c, snapshotter));
  std::vector<SnapshotNode> nodes;
  for (const auto& info : list) nodes.push_back({.name = info.name(), .parent = info.parent()});
  std::cout << RenderSnapshotTree(nodes);
  return absl::OkStatus();
}

// Without keys, every snapshot; each row is that snapshot's own disk use (not its parents').
absl::Status Usage(Env& env, const std::string& snapshotter, bool bytes,
                   const std::vector<std::string>& keys) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  std::vector<std::string> names = keys;
  if (names.empty()) {
    ASSIGN_OR_RETURN(std::vector<client::SnapshotInfo> list,
                     client::ListSnapshots(*c, snapshotter));
    for (const auto& info : list) names.push_back(info.name());
  }
  Table table({"KEY", "SIZE", "INODES"});
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(client::SnapshotUsage usage, client::GetSnapshotUsage(*c, snapshotter, name));
    table.AddRow({name, bytes ? absl::StrCat(usage.size) : HumanBytes(usage.size),
                  absl::StrCat(usage.inodes)});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

absl::Status Remove(Env& env, const std::string& snapshotter,
                    const std::vector<std::string>& keys) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  return ForEachId(keys, env.options().debug, [&](const std::string& key) {
    return client::RemoveSnapshot(*c, snapshotter, key);
  });
}

// --snapshotter on a verb, defaulting to $BERTH_SNAPSHOTTER or overlayfs.
std::shared_ptr<std::string> AddSnapshotterOption(CLI::App* verb) {
  auto snapshotter = std::make_shared<std::string>(DefaultSnapshotter());
  verb->add_option("--snapshotter", *snapshotter,
                   absl::StrCat("The snapshotter (env ", kSnapshotterEnv, ")"))
      ->capture_default_str();
  return snapshotter;
}

}  // namespace

void SetupSnapshots(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    CLI::App* ls = noun.add_subcommand("ls", "List snapshots")->alias("list");
    auto snapshotter = AddSnapshotterOption(ls);
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    ls->add_flag("-q,--quiet", *quiet, "Print only the keys");
    ls->add_option("filters", *filters,
                   "Filters, e.g. 'kind==committed' 'parent==x' (several = OR)");
    ls->callback(
        [=] { *action = [=](Env& env) { return List(env, *snapshotter, *quiet, *filters); }; });
  }
  {
    CLI::App* tree = noun.add_subcommand("tree", "Show snapshots as a tree of parents");
    auto snapshotter = AddSnapshotterOption(tree);
    tree->callback([=] { *action = [=](Env& env) { return Tree(env, *snapshotter); }; });
  }
  {
    CLI::App* usage = noun.add_subcommand("usage", "Show the disk usage of snapshots");
    auto snapshotter = AddSnapshotterOption(usage);
    auto bytes = std::make_shared<bool>(false);
    auto keys = std::make_shared<std::vector<std::string>>();
    usage->add_flag("-b,--bytes", *bytes, "Sizes in bytes");
    usage->add_option("keys", *keys, "Snapshot keys (default: all)");
    usage->callback(
        [=] { *action = [=](Env& env) { return Usage(env, *snapshotter, *bytes, *keys); }; });
  }
  {
    CLI::App* rm = noun.add_subcommand("rm", "Remove snapshots")->alias("delete");
    rm->alias("del")->alias("remove");
    auto snapshotter = AddSnapshotterOption(rm);
    auto keys = std::make_shared<std::vector<std::string>>();
    rm->add_option("keys", *keys, "Snapshot keys")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *snapshotter, *keys); }; });
  }
}

}  // namespace berth::cli
