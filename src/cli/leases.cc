// berth leases: ls, create, rm.

#include "client/leases.h"

#include <iostream>
#include <memory>

#include "api/time.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/table.h"
#include "client/timestamps.h"

namespace berth::cli {

namespace {

absl::Status List(Env& env, bool quiet, const std::vector<std::string>& filters) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<std::vector<client::Lease>> leases = client::ListLeases(**c, filters);
  if (!leases.ok()) return leases.status();
  if (quiet) {
    for (const auto& lease : *leases) std::cout << lease.id() << "\n";
    return absl::OkStatus();
  }
  Table table({"ID", "CREATED AT", "LABELS"});
  for (const auto& lease : *leases) {
    std::string created = api::IsZeroTimestamp(lease.created_at())
                              ? "-"
                              : client::FormatRfc3339(api::FromTimestamp(lease.created_at()));
    table.AddRow({lease.id(), created,
                  FormatLabels(client::Labels(lease.labels().begin(), lease.labels().end()), "-")});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

struct CreateOptions {
  std::string id;
  std::string expires = "24h";
  std::vector<std::string> label_flags;  // --label k=v ...
  std::vector<std::string> label_args;   // positional k=v ...
};

absl::Status Create(Env& env, const CreateOptions& options) {
  std::vector<std::string> args = options.label_flags;
  args.insert(args.end(), options.label_args.begin(), options.label_args.end());
  absl::StatusOr<client::Labels> labels = ParseLabelArgs(args);
  if (!labels.ok()) return labels.status();
  absl::StatusOr<absl::Duration> expires = ParseDuration(options.expires);
  if (!expires.ok()) return expires.status();
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<client::Lease> lease = client::CreateLease(**c, options.id, *labels, *expires);
  if (!lease.ok()) return lease.status();
  std::cout << lease->id() << "\n";
  return absl::OkStatus();
}

absl::Status Remove(Env& env, const std::vector<std::string>& ids, bool sync) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  // Like ctr, only the last delete waits for garbage collection: one collection covers all.
  const std::string& last = ids.back();
  return ForEachId(ids, env.options().debug, [&](const std::string& id) {
    return client::DeleteLease(**c, id, sync && &id == &last);
  });
}

}  // namespace

void SetupLeases(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    CLI::App* ls = noun.add_subcommand("ls", "List leases")->alias("list");
    ls->add_flag("-q,--quiet", *quiet, "Print only the lease ids");
    ls->add_option("filters", *filters, "Filters, e.g. 'id==x' 'labels.\"a\"==b' (several = OR)");
    ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet, *filters); }; });
  }
  {
    auto options = std::make_shared<CreateOptions>();
    CLI::App* create = noun.add_subcommand("create", "Create a lease and print its id");
    create->add_option("--id", options->id, "Lease id (default: generated)");
    create
        ->add_option("-x,--expires", options->expires,
                     "Expire after this long (Go duration; 0 = never)")
        ->capture_default_str();
    create->add_option("-l,--label", options->label_flags, "A label key=value (repeatable)");
    create->add_option("labels", options->label_args, "Labels as key=value");
    create->callback([=] { *action = [=](Env& env) { return Create(env, *options); }; });
  }
  {
    auto ids = std::make_shared<std::vector<std::string>>();
    auto sync = std::make_shared<bool>(false);
    CLI::App* rm = noun.add_subcommand("rm", "Remove leases")->alias("delete");
    rm->alias("del")->alias("remove");
    rm->add_flag("--sync", *sync, "Wait until unreferenced resources are garbage collected");
    rm->add_option("ids", *ids, "Lease ids")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *ids, *sync); }; });
  }
}

}  // namespace berth::cli
