// The running daemon: the root lock, the metadata store, the event exchange, the plugins from
// builtins.cc and the gRPC server on the unix socket.
//
// Thread-safety: Start and Stop are called from main's thread; the objects handed to services
// (store, exchange, reaper) are themselves thread-safe.
#pragma once

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/service_type.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "daemon/config.h"
#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/introspection/v1/introspection.pb.h"
#include "content/local_store.h"
#include "metadata/content.h"
#include "metadata/gc_scheduler.h"
#include "metadata/lease_reaper.h"
#include "metadata/snapshots.h"
#include "metadata/store.h"
#include "runtime/task_manager.h"
#include "snapshots/snapshotter.h"

namespace berth::services {
class EventsService;
}

namespace berth::daemon {

class Daemon {
 public:
  using Plugin = containerd::services::introspection::v1::Plugin;

  // Takes the root (FailedPrecondition if another berthd holds it), opens the metadata, runs the
  // builtin plugins and starts serving on config.grpc.address.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const Config& config);
  ~Daemon();

  // Stops accepting calls, ends open event streams, lets in-flight calls finish (cancelling what
  // is left after `grace`) and stops background jobs. Idempotent.
  void Stop(absl::Duration grace);

  // For plugins' init functions (builtins.cc).
  const Config& config() const { return config_; }
  metadata::Store& store() { return *store_; }
  events::Exchange& exchange() { return exchange_; }
  metadata::LeaseReaper& reaper() { return *reaper_; }
  // Opens the shared blob store under <root>/io.containerd.content.v1.content and the namespaced
  // view over it (the content plugin).
  absl::Status OpenContent();
  metadata::ContentStore& content() { return *content_; }
  // Opens snapshotter `id` ("overlayfs" or "native") under <root>/io.containerd.snapshotter.v1.<id>
  // (the snapshotter plugins). InvalidArgument for another id; the backend's Open errors.
  absl::Status OpenSnapshotter(absl::string_view id);
  // The snapshotters opened so far, by plugin id (for garbage collection and the diff service).
  const std::map<std::string, snapshots::Snapshotter*>& snapshotters() const {
    return snapshotters_;
  }
  // Creates the namespaced snapshot store over the snapshotters opened so far and repairs what a
  // crash left in them (SnapshotStore::Cleanup; failures are logged). Part of the metadata plugin.
  absl::Status OpenSnapshotStore();
  // Null until OpenSnapshotStore ran.
  metadata::SnapshotStore* snapshot_store() { return snapshot_store_.get(); }
  // Starts the garbage collection scheduler over the metadata and the backends opened so far
  // (the io.containerd.gc.v1 scheduler plugin). Deletions reach it as the events the services
  // publish (/images/delete, /content/delete, /containers/delete, /snapshot/remove), expired
  // leases from the reaper; LeasesService and ImagesService call it directly.
  absl::Status StartGc();
  // Null until StartGc succeeded.
  metadata::GcScheduler* gc() { return gc_.get(); }
  // Starts the v2 runtime (io.containerd.runtime.v2 task): its ttrpc socket for the shims'
  // events at <grpc address>.ttrpc, bundles under <state>/io.containerd.runtime.v2.task, and
  // reconnects to the shims of a previous run.
  absl::Status StartRuntime();
  // Null until StartRuntime succeeded.
  runtime::TaskManager* tasks() { return tasks_.get(); }
  // The plugins initialised so far, each with its init error if it failed.
  const std::vector<Plugin>& plugins() const { return plugins_; }
  // Registers a gRPC service to serve; the daemon owns it.
  void AddService(std::unique_ptr<grpc::Service> service) {
    services_.push_back(std::move(service));
  }
  void set_events_service(services::EventsService* s) { events_service_ = s; }

 private:
  explicit Daemon(Config config) : config_(std::move(config)) {}
  absl::Status Init();
  absl::Status Listen();

  Config config_;
  int lock_fd_ = -1;
  std::unique_ptr<metadata::Store> store_;
  events::Exchange exchange_;
  std::unique_ptr<metadata::LeaseReaper> reaper_;
  std::unique_ptr<content::LocalStore> content_backend_;
  std::unique_ptr<metadata::ContentStore> content_;
  std::vector<std::unique_ptr<snapshots::Snapshotter>> snapshotter_backends_;
  std::map<std::string, snapshots::Snapshotter*> snapshotters_;
  std::unique_ptr<metadata::SnapshotStore> snapshot_store_;
  std::unique_ptr<metadata::GcScheduler> gc_;
  std::unique_ptr<events::Sink> gc_events_;  // marks gc_ dirty on delete events
  uint64_t gc_subscription_ = 0;
  std::unique_ptr<runtime::TaskManager> tasks_;
  std::vector<Plugin> plugins_;
  std::vector<std::unique_ptr<grpc::Service>> services_;
  services::EventsService* events_service_ = nullptr;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace berth::daemon
