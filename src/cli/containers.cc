// berth containers (alias c): ls, info, rm, label. Container metadata only: tasks are not
// touched, and `rm` leaves the container's snapshot to the garbage collector.

#include "client/containers.h"

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/json.h"
#include "cli/table.h"

namespace berth::cli {

namespace {

absl::Status List(Env& env, bool quiet, const std::vector<std::string>& filters) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<std::vector<client::Container>> containers = client::ListContainers(**c, filters);
  if (!containers.ok()) return containers.status();
  if (quiet) {
    for (const auto& container : *containers) std::cout << container.id() << "\n";
    return absl::OkStatus();
  }
  Table table({"CONTAINER", "IMAGE", "RUNTIME"});
  for (const auto& container : *containers) {
    table.AddRow({container.id(), container.image().empty() ? "-" : container.image(),
                  container.runtime().name()});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

absl::Status Info(Env& env, const std::string& id, bool spec_only) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<client::Container> container = client::GetContainer(**c, id);
  if (!container.ok()) return container.status();
  if (spec_only) {
    if (!container->has_spec()) {
      return absl::NotFoundError(absl::StrCat("container \"", id, "\" has no spec: not found"));
    }
    std::cout << AnyToJsonValue(container->spec()).dump(4) << "\n";
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> json = ContainerToJson(*container);
  if (!json.ok()) return json.status();
  std::cout << *json << "\n";
  return absl::OkStatus();
}

absl::Status Remove(Env& env, const std::vector<std::string>& ids) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  return ForEachId(ids, env.options().debug,
                   [&](const std::string& id) { return client::DeleteContainer(**c, id); });
}

absl::Status Label(Env& env, const std::string& id, const std::vector<std::string>& args) {
  absl::StatusOr<client::Labels> labels = ParseLabelArgs(args);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<client::Labels> result = client::SetContainerLabels(**c, id, *labels);
  if (!result.ok()) return result.status();
  std::cout << FormatLabels(*result) << "\n";
  return absl::OkStatus();
}

}  // namespace

void SetupContainers(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    CLI::App* ls = noun.add_subcommand("ls", "List containers")->alias("list");
    ls->add_flag("-q,--quiet", *quiet, "Print only the container ids");
    ls->add_option("filters", *filters,
                   "Filters, e.g. 'image==docker.io/library/busybox:latest' 'labels.\"a\"==b' "
                   "(several = OR)");
    ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet, *filters); }; });
  }
  {
    auto id = std::make_shared<std::string>();
    auto spec = std::make_shared<bool>(false);
    CLI::App* info = noun.add_subcommand("info", "Print a container as JSON");
    info->add_option("id", *id, "Container id")->required();
    info->add_flag("--spec", *spec, "Print only the OCI spec");
    info->callback([=] { *action = [=](Env& env) { return Info(env, *id, *spec); }; });
  }
  {
    auto ids = std::make_shared<std::vector<std::string>>();
    CLI::App* rm = noun.add_subcommand("rm", "Remove containers (their metadata)")->alias("delete");
    rm->alias("del")->alias("remove");
    rm->add_option("ids", *ids, "Container ids")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *ids); }; });
  }
  {
    auto id = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    CLI::App* label = noun.add_subcommand(
        "label", "Set labels of a container (key= removes a label); prints the resulting labels");
    label->add_option("id", *id, "Container id")->required();
    label->add_option("labels", *labels, "Labels as key=value");
    label->callback([=] { *action = [=](Env& env) { return Label(env, *id, *labels); }; });
  }
}

}  // namespace berth::cli
