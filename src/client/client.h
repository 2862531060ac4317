// The C++ client library for containerd's API, used by the berth CLI, berth-bench and the tests.
// It speaks only the containerd wire API, so it works against berthd and a real containerd alike.
//
// A Client owns one gRPC channel to a unix socket and the stubs of every service. Each call gets
// a fresh grpc::ClientContext from NewContext(), which carries the namespace (and lease, if set)
// as containerd expects them: gRPC metadata `containerd-namespace` / `containerd-lease`.
// Thread-safety: a Client may be shared by threads once configured; set_namespace/set_lease are
// not synchronized and must not race with calls.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "github.com/containerd/containerd/api/services/containers/v1/containers.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/content/v1/content.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/diff/v1/diff.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/events/v1/events.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/images/v1/images.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/introspection/v1/introspection.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/leases/v1/leases.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/namespaces/v1/namespace.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/snapshots/v1/snapshots.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/tasks/v1/tasks.grpc.pb.h"
#include "github.com/containerd/containerd/api/services/version/v1/version.grpc.pb.h"

namespace berth::client {

inline constexpr char kDefaultAddress[] = "/run/berth/berthd.sock";
inline constexpr char kDefaultNamespace[] = "default";

struct Options {
  // Unix socket path, with or without a "unix://" prefix.
  std::string address = kDefaultAddress;
  std::string ns = kDefaultNamespace;
  // Deadline applied to every unary call made through NewContext(); zero = none.
  absl::Duration timeout = absl::ZeroDuration();
  // How long Connect waits for the socket to accept; zero = do not wait (fail fast).
  absl::Duration connect_timeout = absl::Seconds(5);
};

class Client {
 public:
  // Opens a channel to `options.address`. Fails with Unavailable (message naming the address)
  // when nothing answers within options.connect_timeout.
  static absl::StatusOr<std::unique_ptr<Client>> Connect(const Options& options);

  // A context for one call carrying the namespace, the lease (if any) and the deadline.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  // Like NewContext() without a deadline: for streams that live as long as the caller wants.
  std::unique_ptr<grpc::ClientContext> NewStreamContext() const;

  const std::string& ns() const { return options_.ns; }
  void set_namespace(std::string ns) { options_.ns = std::move(ns); }
  const std::string& lease() const { return lease_; }
  void set_lease(std::string lease) { lease_ = std::move(lease); }
  const std::string& address() const { return options_.address; }

  containerd::services::containers::v1::Containers::Stub& containers() { return *containers_; }
  containerd::services::content::v1::Content::Stub& content() { return *content_; }
  containerd::services::diff::v1::Diff::Stub& diff() { return *diff_; }
  containerd::services::events::v1::Events::Stub& events() { return *events_; }
  containerd::services::images::v1::Images::Stub& images() { return *images_; }
  containerd::services::introspection::v1::Introspection::Stub& introspection() {
    return *introspection_;
  }
  containerd::services::leases::v1::Leases::Stub& leases() { return *leases_; }
  containerd::services::namespaces::v1::Namespaces::Stub& namespaces() { return *namespaces_; }
  containerd::services::snapshots::v1::Snapshots::Stub& snapshots() { return *snapshots_; }
  containerd::services::tasks::v1::Tasks::Stub& tasks() { return *tasks_; }
  containerd::services::version::v1::Version::Stub& version() { return *version_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  Client(Options options, std::shared_ptr<grpc::Channel> channel);
  void FillContext(grpc::ClientContext* ctx) const;

  Options options_;
  std::string lease_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<containerd::services::containers::v1::Containers::Stub> containers_;
  std::unique_ptr<containerd::services::content::v1::Content::Stub> content_;
  std::unique_ptr<containerd::services::diff::v1::Diff::Stub> diff_;
  std::unique_ptr<containerd::services::events::v1::Events::Stub> events_;
  std::unique_ptr<containerd::services::images::v1::Images::Stub> images_;
  std::unique_ptr<containerd::services::introspection::v1::Introspection::Stub> introspection_;
  std::unique_ptr<containerd::services::leases::v1::Leases::Stub> leases_;
  std::unique_ptr<containerd::services::namespaces::v1::Namespaces::Stub> namespaces_;
  std::unique_ptr<containerd::services::snapshots::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<containerd::services::tasks::v1::Tasks::Stub> tasks_;
  std::unique_ptr<containerd::services::version::v1::Version::Stub> version_;
};

// Converts a gRPC status to absl::Status keeping code and message (the codes are the same).
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace berth::client
