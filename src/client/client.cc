#include "client/client.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace berth::client {

namespace {

constexpr int kMaxMessageSize = 16 << 20;  // containerd's limit, both ways

std::string Target(const std::string& address) {
  if (absl::StartsWith(address, "unix://")) return address;
  return absl::StrCat("unix://", address);
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const Options& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageSize);
  args.SetMaxSendMessageSize(kMaxMessageSize);
  // The authority of a unix-socket channel is otherwise the socket path; containerd's Go client
  // sends "localhost", and some proxies care.
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
  // Each Client gets its own connection: gRPC would otherwise share one subchannel among all
  // channels to the same socket, serializing concurrent clients (benchmarks, tests) on it.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel =
      grpc::CreateCustomChannel(Target(options.address), grpc::InsecureChannelCredentials(), args);
  if (options.connect_timeout > absl::ZeroDuration()) {
    auto deadline = std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(options.connect_timeout);
    if (!channel->WaitForConnected(deadline)) {
      return absl::UnavailableError(
          absl::StrCat("cannot connect to ", options.address, ": is the daemon running?"));
    }
  }
  return std::unique_ptr<Client>(new Client(options, std::move(channel)));
}

Client::Client(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      containers_(containerd::services::containers::v1::Containers::NewStub(channel_)),
      content_(containerd::services::content::v1::Content::NewStub(channel_)),
      diff_(containerd::services::diff::v1::Diff::NewStub(channel_)),
      events_(containerd::services::events::v1::Events::NewStub(channel_)),
      images_(containerd::services::images::v1::Images::NewStub(channel_)),
      introspection_(containerd::services::introspection::v1::Introspection::NewStub(channel_)),
      leases_(containerd::services::leases::v1::Leases::NewStub(channel_)),
      namespaces_(containerd::services::namespaces::v1::Namespaces::NewStub(channel_)),
      snapshots_(containerd::services::snapshots::v1::Snapshots::NewStub(channel_)),
      tasks_(containerd::services::tasks::v1::Tasks::NewStub(channel_)),
      version_(containerd::services::version::v1::Version::NewStub(channel_)) {}

void Client::FillContext(grpc::ClientContext* ctx) const {
  if (!options_.ns.empty()) ctx->AddMetadata("containerd-namespace", options_.ns);
  if (!lease_.empty()) ctx->AddMetadata("containerd-lease", lease_);
}

std::unique_ptr<grpc::ClientContext> Client::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  FillContext(ctx.get());
  if (options_.timeout > absl::ZeroDuration()) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(options_.timeout));
  }
  return ctx;
}

std::unique_ptr<grpc::ClientContext> Client::NewStreamContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  FillContext(ctx.get());
  return ctx;
}

}  // namespace berth::client
