#include "daemon/builtins.h"

#include "base/status.h"
#include "base/version.h"
#include "daemon/daemon.h"
#include "services/containers_service.h"
#include "services/content_service.h"
#include "services/diff_service.h"
#include "services/events_service.h"
#include "services/images_service.h"
#include "services/introspection_service.h"
#include "services/leases_service.h"
#include "services/namespaces_service.h"
#include "services/snapshots_service.h"
#include "services/tasks_service.h"
#include "services/version_service.h"

namespace berth::daemon {

namespace {
absl::Status Nothing(Daemon&) { return absl::OkStatus(); }
}  // namespace

std::vector<Builtin> Builtins() {
  return {
      // Internal plugins: their objects are created by the daemon itself (Daemon::Init); they are
      // listed so that Introspection shows the same graph containerd does.
      {"io.containerd.content.v1", "content", {}, [](Daemon& d) { return d.OpenContent(); }},
      {"io.containerd.differ.v1", "walking", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.event.v1", "exchange", {}, Nothing},
      {"io.containerd.snapshotter.v1", "native", {},
       [](Daemon& d) { return d.OpenSnapshotter("native"); }},
      {"io.containerd.snapshotter.v1", "overlayfs", {},
       [](Daemon& d) { return d.OpenSnapshotter("overlayfs"); }},
      // Creates the namespaced snapshot store over the snapshotters that loaded.
      {"io.containerd.metadata.v1", "sqlite",
       {"io.containerd.content.v1", "io.containerd.snapshotter.v1"},
       [](Daemon& d) { return d.OpenSnapshotStore(); }},
      {"io.containerd.lease.v1", "manager", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.gc.v1", "scheduler", {"io.containerd.metadata.v1"},
       [](Daemon& d) { return d.StartGc(); }},
      {"io.containerd.runtime.v2", "task", {"io.containerd.event.v1", "io.containerd.metadata.v1"},
       [](Daemon& d) { return d.StartRuntime(); }},
      {"io.containerd.service.v1", "containers-service", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.service.v1", "content-service", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.service.v1", "diff-service", {"io.containerd.differ.v1"}, Nothing},
      {"io.containerd.service.v1", "images-service", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.service.v1", "leases-service", {"io.containerd.lease.v1"}, Nothing},
      {"io.containerd.service.v1", "namespaces-service", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.service.v1", "snapshots-service", {"io.containerd.metadata.v1"}, Nothing},
      {"io.containerd.service.v1", "tasks-service", {"io.containerd.runtime.v2"}, Nothing},

      {"io.containerd.grpc.v1", "containers", {"io.containerd.service.v1"},
       [](Daemon& d) {
         d.AddService(std::make_unique<services::ContainersService>(&d.store().containers(),
                                                                    &d.exchange()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "content", {"io.containerd.service.v1"},
       [](Daemon& d) {
         d.AddService(std::make_unique<services::ContentService>(&d.content(), &d.exchange()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "diff", {"io.containerd.service.v1"},
       [](Daemon& d) {
         d.AddService(std::make_unique<services::DiffService>(&d.content(),
                                                              d.config().state + "/diff"));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "events", {"io.containerd.event.v1"},
       [](Daemon& d) {
         auto svc = std::make_unique<services::EventsService>(&d.exchange());
         d.set_events_service(svc.get());
         d.AddService(std::move(svc));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "healthcheck", {}, Nothing},  // gRPC's own, enabled in Listen()
      {"io.containerd.grpc.v1", "images", {"io.containerd.service.v1"},
       [](Daemon& d) {
         std::function<absl::Status()> collect;
         if (metadata::GcScheduler* gc = d.gc()) {
           collect = [gc] { return gc->RunNow().status(); };
         }
         d.AddService(std::make_unique<services::ImagesService>(&d.store().images(),
                                                                &d.exchange(), collect));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "leases", {"io.containerd.lease.v1"},
       [](Daemon& d) {
         d.AddService(
             std::make_unique<services::LeasesService>(&d.store().leases(), &d.reaper(), d.gc()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "namespaces", {"io.containerd.service.v1"},
       [](Daemon& d) {
         d.AddService(std::make_unique<services::NamespacesService>(&d.store().namespaces(),
                                                                    &d.exchange()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "snapshots", {"io.containerd.service.v1"},
       [](Daemon& d) {
         if (d.snapshot_store() == nullptr) {
           return absl::FailedPreconditionError("snapshot store not loaded");
         }
         d.AddService(
             std::make_unique<services::SnapshotsService>(d.snapshot_store(), &d.exchange()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "tasks", {"io.containerd.service.v1"},
       [](Daemon& d) {
         if (d.tasks() == nullptr) return ErrFailedPrecondition("runtime not loaded");
         d.AddService(
             std::make_unique<services::TasksService>(&d.store().containers(), d.tasks()));
         return absl::OkStatus();
       }},
      {"io.containerd.grpc.v1", "version", {},
       [](Daemon& d) {
         d.AddService(std::make_unique<services::VersionService>(kVersion, kRevision));
         return absl::OkStatus();
       }},
      // Last: it reports every plugin above, and itself.
      {"io.containerd.grpc.v1", "introspection", {},
       [](Daemon& d) {
         d.AddService(
             std::make_unique<services::IntrospectionService>(d.plugins(), d.store().uuid()));
         return absl::OkStatus();
       }},
  };
}

}  // namespace berth::daemon
