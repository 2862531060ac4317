// berth events [filters...]: prints the daemon's events until interrupted.

#include "cli/events.h"

#include <cstdio>
#include <memory>

#include "api/time.h"
#include "absl/strings/str_cat.h"
#include "cli/command.h"
#include "cli/interrupt.h"
#include "cli/json.h"
#include "client/timestamps.h"

namespace berth::cli {

std::string FormatEventLine(const client::Envelope& envelope, absl::TimeZone tz) {
  std::string event;
  if (envelope.has_event()) {
    absl::StatusOr<std::string> json = AnyToJson(envelope.event());
    event = json.ok() ? *std::move(json) : envelope.event().type_url();
  }
  std::string line = absl::StrCat(
      client::FormatRfc3339(api::FromTimestamp(envelope.timestamp()), tz, /*nanos=*/true), " ",
      envelope.namespace_(), " ", envelope.topic());
  if (!event.empty()) absl::StrAppend(&line, " ", event);
  return line;
}

namespace {

absl::Status Run(Env& env, const std::vector<std::string>& filters) {
  absl::StatusOr<client::Client*> c = env.Client();
  if (!c.ok()) return c.status();
  std::unique_ptr<grpc::ClientContext> ctx = (*c)->NewStreamContext();
  grpc::ClientContext* raw = ctx.get();
  InterruptHook hook([raw] { raw->TryCancel(); });
  absl::Status status = client::Subscribe(**c, *ctx, filters, [](const client::Envelope& envelope) {
    std::string line = FormatEventLine(envelope);
    line += '\n';
    // Each line is flushed so that a pipe reader sees events as they happen; a closed
    // pipe (`berth events | head`) ends the subscription quietly.
    return std::fwrite(line.data(), 1, line.size(), stdout) == line.size() &&
           std::fflush(stdout) == 0;
  });
  if (hook.fired() && status.code() == absl::StatusCode::kCancelled) return absl::OkStatus();
  return status;
}

}  // namespace

void SetupEvents(CLI::App& noun, Action* action) {
  auto filters = std::make_shared<std::vector<std::string>>();
  noun.add_option("filters", *filters,
                  "Filters, e.g. 'namespace==default' 'topic~=|^/tasks/|' (several = OR)");
  noun.callback([=] { *action = [=](Env& env) { return Run(env, *filters); }; });
}

}  // namespace berth::cli
