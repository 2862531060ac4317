#include "cli/command.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cli/args.h"
#include "client/snapshots.h"

namespace berth::cli {

namespace {

constexpr char kReportedPayload[] = "berth.dev/cli/reported";

}  // namespace

std::string DefaultSnapshotter() {
  const char* env = std::getenv(kSnapshotterEnv);
  return env != nullptr && *env != '\0' ? env : client::kDefaultSnapshotter;
}

absl::StatusOr<client::Client*> Env::Client() {
  if (client_ != nullptr) return client_.get();
  client::Options options;
  options.address = options_.address;
  options.ns = options_.ns;
  if (!options_.timeout.empty()) {
    absl::StatusOr<absl::Duration> timeout = ParseDuration(options_.timeout);
    if (!timeout.ok()) return timeout.status();
    options.timeout = *timeout;
  }
  // gRPC would keep retrying a socket that does not exist until the connect timeout: say so
  // at once instead.
  std::string path = options.address;
  if (absl::StartsWith(path, "unix://")) path = path.substr(7);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot connect to ", options.address, ": ",
                                               std::strerror(errno), ": is the daemon running?"));
  }
  Debug(absl::StrCat("connecting to ", options.address, " namespace=", options.ns,
                     " timeout=", options_.timeout.empty() ? "none" : options_.timeout));
  absl::StatusOr<std::unique_ptr<client::Client>> connected = client::Client::Connect(options);
  if (!connected.ok()) return connected.status();
  client_ = std::move(*connected);
  return client_.get();
}

void Env::Debug(std::string_view message) const {
  if (options_.debug) std::cerr << "berth: debug: " << message << std::endl;
}

void PrintError(const absl::Status& status, bool debug) {
  std::string message(status.message());
  if (message.empty()) message = absl::StatusCodeToString(status.code());
  std::cout.flush();
  std::cerr << "berth: " << message;
  if (debug) std::cerr << " (code " << absl::StatusCodeToString(status.code()) << ")";
  std::cerr << std::endl;
}

absl::Status ForEachId(const std::vector<std::string>& ids, bool debug,
                       const std::function<absl::Status(const std::string&)>& op) {
  size_t failures = 0;
  for (const auto& id : ids) {
    absl::Status status = op(id);
    if (status.ok()) {
      std::cout << id << std::endl;
    } else {
      ++failures;
      PrintError(status, debug);
    }
  }
  if (failures == 0) return absl::OkStatus();
  return ReportedError(absl::StrCat(failures, " of ", ids.size(), " failed"));
}

absl::Status ReportedError(std::string_view summary) {
  absl::Status status = absl::UnknownError(std::string(summary));
  status.SetPayload(kReportedPayload, absl::Cord("1"));
  return status;
}

bool IsReported(const absl::Status& status) {
  return status.GetPayload(kReportedPayload).has_value();
}

}  // namespace berth::cli
