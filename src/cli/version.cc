// berth version: the client's and the daemon's version, revision and the daemon's UUID.

#include "client/version.h"

#include <iostream>

#include "base/version.h"
#include "cli/command.h"
#include "client/introspection.h"


namespace berth::cli {

namespace {

absl::Status Run(Env& env) {
  std::cout << "Client:\n"
            << "  Version:  " << kVersion << "\n"
            << "  Revision: " << kRevision << "\n\n";
  std::cout.flush();
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  absl::StatusOr<client::VersionResponse> version = client::GetVersion(**c);
  if (!version.ok()) return version.status();
  absl::StatusOr<std::string> uuid = client::ServerUuid(**c);
  if (!uuid.ok()) return uuid.status();
  std::cout << "Server:\n"
            << "  Version:  " << version->version() << "\n"
            << "  Revision: " << version->revision() << "\n"
            << "  UUID:     " << *uuid << "\n";
  return absl::OkStatus();
}

}  // namespace

void SetupVersion(CLI::App& noun, Action* action) {
  noun.callback([=] { *action = Run; });
}

}  // namespace berth::cli
