// berth namespaces (alias ns): ls, create, rm, label.

#include "client/namespaces.h"

#include <iostream>
#include <memory>

#include "cli/args.h"
#include "cli/command.h"
#include "cli/table.h"

namespace berth::cli {

namespace {

absl::Status List(Env& env, bool quiet) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<std::vector<client::Namespace>> namespaces = client::ListNamespaces(**c);
  if (!namespaces.ok()) return namespaces.status();
  if (quiet) {
    for (const auto& ns : *namespaces) std::cout << ns.name() << "\n";
    return absl::OkStatus();
  }
  Table table({"NAME", "LABELS"});
  for (const auto& ns : *namespaces) {
    table.AddRow({ns.name(), FormatLabels(client::Labels(ns.labels().begin(), ns.labels().end()))});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

absl::Status Create(Env& env, const std::string& name, const std::vector<std::string>& args) {
  absl::StatusOr<client::Labels> labels = ParseLabelArgs(args);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  return client::CreateNamespace(**c, name, *labels);
}

absl::Status Remove(Env& env, const std::vector<std::string>& names) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  return ForEachId(names, env.options().debug,
                   [&](const std::string& name) { return client::DeleteNamespace(**c, name); });
}

absl::Status Label(Env& env, const std::string& name, const std::vector<std::string>& args) {
  absl::StatusOr<client::Labels> labels = ParseLabelArgs(args);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::Status status = client::SetNamespaceLabels(**c, name, *labels);
  if (!status.ok()) return status;
  absl::StatusOr<client::Namespace> ns = client::GetNamespace(**c, name);
  if (!ns.ok()) return ns.status();
  std::cout << FormatLabels(client::Labels(ns->labels().begin(), ns->labels().end())) << "\n";
  return absl::OkStatus();
}

}  // namespace

void SetupNamespaces(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    auto quiet = std::make_shared<bool>(false);
    CLI::App* ls = noun.add_subcommand("ls", "List namespaces and their labels")->alias("list");
    ls->add_flag("-q,--quiet", *quiet, "Print only the names");
    ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet); }; });
  }
  {
    auto name = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    CLI::App* create = noun.add_subcommand("create", "Create a namespace")->alias("c");
    create->add_option("name", *name, "Namespace name")->required();
    create->add_option("labels", *labels, "Labels as key=value");
    create->callback([=] { *action = [=](Env& env) { return Create(env, *name, *labels); }; });
  }
  {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* rm = noun.add_subcommand("rm", "Remove empty namespaces")->alias("remove");
    rm->add_option("names", *names, "Namespace names")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *names); }; });
  }
  {
    auto name = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    CLI::App* label = noun.add_subcommand(
        "label", "Set labels of a namespace (key= removes a label); prints the resulting labels");
    label->add_option("name", *name, "Namespace name")->required();
    label->add_option("labels", *labels, "Labels as key=value");
    label->callback([=] { *action = [=](Env& env) { return Label(env, *name, *labels); }; });
  }
}

}  // namespace berth::cli
