// berth content: ls, get, rm. Blobs of the namespace's content store, by digest.

#include "client/content.h"

#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "api/time.h"
#include "base/status.h"
#include "cli/args.h"
#include "cli/command.h"
#include "cli/human.h"
#include "cli/table.h"

namespace berth::cli {

namespace {

absl::Status List(Env& env, bool quiet, const std::vector<std::string>& filters) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  ASSIGN_OR_RETURN(std::vector<client::ContentInfo> blobs, client::ListContent(*c, filters));
  if (quiet) {
    for (const auto& info : blobs) std::cout << info.digest() << "\n";
    return absl::OkStatus();
  }
  Table table({"DIGEST", "SIZE", "AGE", "LABELS"});
  const absl::Time now = absl::Now();
  for (const auto& info : blobs) {
    std::string age = api::IsZeroTimestamp(info.created_at())
                          ? "-"
                          : HumanDuration(now - api::FromTimestamp(info.created_at()));
    table.AddRow({info.digest(), HumanBytes(info.size()), age,
                  FormatLabels(client::Labels(info.labels().begin(), info.labels().end()), "-")});
  }
  table.Print(std::cout);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, "write to stdout");
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Streams the blob to stdout as it arrives (blobs may be large).
absl::Status Get(Env& env, const std::string& digest) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  std::cout.flush();
  return client::ReadContent(*c, digest,
                             [](std::string_view chunk) { return WriteAll(STDOUT_FILENO, chunk); });
}

absl::Status Remove(Env& env, const std::vector<std::string>& digests) {
  ASSIGN_OR_RETURN(client::Client * c, env.Client());
  return ForEachId(digests, env.options().debug,
                   [&](const std::string& digest) { return client::DeleteContent(*c, digest); });
}

}  // namespace

void SetupContent(CLI::App& noun, Action* action) {
  noun.require_subcommand(1);

  {
    auto quiet = std::make_shared<bool>(false);
    auto filters = std::make_shared<std::vector<std::string>>();
    CLI::App* ls = noun.add_subcommand("ls", "List blobs")->alias("list");
    ls->add_flag("-q,--quiet", *quiet, "Print only the digests");
    ls->add_option("filters", *filters,
                   "Filters, e.g. 'digest==sha256:…' 'labels.\"a\"==b' (several = OR)");
    ls->callback([=] { *action = [=](Env& env) { return List(env, *quiet, *filters); }; });
  }
  {
    auto digest = std::make_shared<std::string>();
    CLI::App* get = noun.add_subcommand("get", "Write a blob to stdout");
    get->add_option("digest", *digest, "The blob's digest")->required();
    get->callback([=] { *action = [=](Env& env) { return Get(env, *digest); }; });
  }
  {
    auto digests = std::make_shared<std::vector<std::string>>();
    CLI::App* rm = noun.add_subcommand("rm", "Remove blobs")->alias("delete");
    rm->alias("del")->alias("remove");
    rm->add_option("digests", *digests, "Blob digests")->required();
    rm->callback([=] { *action = [=](Env& env) { return Remove(env, *digests); }; });
  }
}

}  // namespace berth::cli
