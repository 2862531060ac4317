#include "daemon/daemon.h"

#include <grpcpp/health_check_service_interface.h>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <set>

#include "absl/algorithm/container.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/filters.h"
#include "base/log.h"
#include "base/status.h"
#include "daemon/builtins.h"
#include "services/events_service.h"
#include "snapshots/native/native.h"
#include "snapshots/overlay/overlay.h"
#include "sys/fs.h"

namespace berth::daemon {

namespace {
constexpr int kMaxMessageSize = 16 << 20;  // containerd's limit, both ways

// Feeds the metadata events the services publish to the garbage collector: a delete or remove
// may have left garbage; any other change counts towards the mutation threshold.
class GcEventSink : public events::Sink {
 public:
  explicit GcEventSink(metadata::GcScheduler* gc) : gc_(gc) {}
  void Deliver(std::shared_ptr<const events::Envelope> envelope) override {
    const std::string& topic = envelope->topic();
    if (absl::EndsWith(topic, "/delete") || absl::EndsWith(topic, "/remove")) {
      gc_->MarkDirty();
    } else {
      gc_->MarkMutation();
    }
  }

 private:
  metadata::GcScheduler* const gc_;
};
}  // namespace

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const Config& config) {
  RETURN_IF_ERROR(Validate(config));
  std::unique_ptr<Daemon> d(new Daemon(config));
  RETURN_IF_ERROR(d->Init());
  RETURN_IF_ERROR(d->Listen());
  return d;
}

absl::Status Daemon::Init() {
  RETURN_IF_ERROR(sys::MakeDirs(config_.root, 0711));
  RETURN_IF_ERROR(sys::MakeDirs(config_.state, 0711));
  ASSIGN_OR_RETURN(sys::UniqueFd lock, sys::LockFile(config_.root + "/berthd.lock"));
  lock_fd_ = lock.release();

  ASSIGN_OR_RETURN(store_, metadata::Store::Open(config_.root, config_.metadata.sync == "full"
                                                                   ? sqlite::Sync::kFull
                                                                   : sqlite::Sync::kNormal));
  reaper_ = std::make_unique<metadata::LeaseReaper>(&store_->leases());

  // containerd's required_plugins ("type.id"): one that berthd does not have, or that fails to
  // load, stops the start-up. The missing ones are found before any plugin starts.
  const std::vector<Builtin> builtins = Builtins();
  std::set<std::string> required(config_.required_plugins.begin(),
                                 config_.required_plugins.end());
  for (const Builtin& b : builtins) required.erase(absl::StrCat(b.type, ".", b.id));
  if (!required.empty()) {
    return ErrFailedPrecondition(absl::StrCat("required plugin ", absl::StrJoin(required, ", "),
                                              " not included (berthd does not have it)"));
  }
  for (const Builtin& b : builtins) {
    const std::string uri = absl::StrCat(b.type, ".", b.id);
    const bool is_required = absl::c_linear_search(config_.required_plugins, uri);
    Plugin& p = plugins_.emplace_back();
    p.set_type(std::string(b.type));
    p.set_id(std::string(b.id));
    for (absl::string_view r : b.requires_) p.add_requires_(std::string(r));
    absl::Status status = b.init(*this);
    if (!status.ok() && is_required) {
      return ErrFailedPrecondition(
          absl::StrCat("load required plugin ", uri, ": ", status.message()));
    }
    if (!status.ok()) {
      log::Warn("failed to load plugin", {{"type", b.type}, {"id", b.id},
                                          {"error", status.ToString()}});
      p.mutable_init_err()->set_code(static_cast<int>(status.code()));
      p.mutable_init_err()->set_message(std::string(status.message()));
    } else {
      log::Debug("loaded plugin", {{"type", b.type}, {"id", b.id}});
    }
  }
  return absl::OkStatus();
}

absl::Status Daemon::OpenContent() {
  ASSIGN_OR_RETURN(content_backend_,
                   content::LocalStore::Open(config_.root + "/io.containerd.content.v1.content"));
  content_ = std::make_unique<metadata::ContentStore>(&store_->db(), content_backend_.get());
  return absl::OkStatus();
}

absl::Status Daemon::StartGc() {
  if (content_ == nullptr) return ErrFailedPrecondition("content store not loaded");
  metadata::GcBackends backends{.content = content_backend_.get(),
                                .content_guard = &content_->gc_guard()};
  backends.snapshotters = snapshotters_;
  if (snapshot_store_ != nullptr) {
    backends.snapshot_cleanup = [this](const std::string& name) {
      return snapshot_store_->Cleanup(name);
    };
  }
  // [plugins."io.containerd.gc.v1.scheduler"]. containerd collects startup_delay (100 ms) after
  // its GC plugin starts, by when its slower start has usually not opened the socket yet.
  // berthd serves within milliseconds, so a timed first collection would race clients' first
  // writes made without a lease (`ctr content ingest`). Unless the config sets startup_delay,
  // the first collection (cleaning up after a crash) runs here instead, before serving; it is
  // called directly, since the scheduler's RunNow would wait schedule_delay first.
  const Config::GcScheduler& gc_config = config_.gc_scheduler;
  const metadata::GcSchedulerConfig config{
      .pause_threshold = gc_config.pause_threshold,
      .deletion_threshold = gc_config.deletion_threshold,
      .mutation_threshold = gc_config.mutation_threshold,
      .schedule_delay = gc_config.schedule_delay,
      .startup_delay = gc_config.startup_delay.value_or(absl::ZeroDuration()),
  };
  auto collect = [this, backends] { return metadata::GarbageCollect(store_->db(), backends); };
  if (!gc_config.startup_delay.has_value()) {
    if (absl::StatusOr<metadata::GcStats> first = collect(); !first.ok()) {
      log::Warn("startup garbage collection failed", {{"error", first.status().ToString()}});
    } else {
      log::Debug("startup garbage collection", {{"blobs", first->blobs},
                                                {"snapshots", first->snapshots},
                                                {"leases", first->leases}});
    }
  }
  gc_ = std::make_unique<metadata::GcScheduler>(collect, config);
  ASSIGN_OR_RETURN(filters::Filter filter,
                   filters::Parse("topic~=\"^/(images|content|containers|snapshot)/\""));
  gc_events_ = std::make_unique<GcEventSink>(gc_.get());
  gc_subscription_ = exchange_.Subscribe(std::move(filter), gc_events_.get());
  reaper_->SetOnExpired([gc = gc_.get()] { gc->MarkDirty(); });
  return absl::OkStatus();
}

absl::Status Daemon::StartRuntime() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) return ErrnoError(errno, "readlink /proc/self/exe");
  const std::string exe(self, static_cast<size_t>(n));
  runtime::ManagerConfig mc{
      .root = config_.root + "/io.containerd.runtime.v2.task",
      .state = config_.state + "/io.containerd.runtime.v2.task",
      .address = config_.grpc.address,
      .ttrpc_address = config_.grpc.address + ".ttrpc",
      .publish_binary = exe,
      .self_dir = std::filesystem::path(exe).parent_path().string(),
      .runc_shim = config_.runtime.runc_shim,
      .debug = config_.debug.level == "debug" || config_.debug.level == "trace",
  };
  ASSIGN_OR_RETURN(tasks_, runtime::TaskManager::Start(std::move(mc), &exchange_));
  return absl::OkStatus();
}

absl::Status Daemon::OpenSnapshotter(absl::string_view id) {
  const std::string root = absl::StrCat(config_.root, "/io.containerd.snapshotter.v1.", id);
  std::unique_ptr<snapshots::Snapshotter> sn;
  if (id == "overlayfs") {
    ASSIGN_OR_RETURN(sn, snapshots::OverlaySnapshotter::Open(root));
  } else if (id == "native") {
    ASSIGN_OR_RETURN(sn, snapshots::NativeSnapshotter::Open(root));
  } else {
    return ErrInvalidArgument(absl::StrCat("unknown snapshotter ", id));
  }
  snapshotters_[std::string(id)] = sn.get();
  snapshotter_backends_.push_back(std::move(sn));
  return absl::OkStatus();
}

absl::Status Daemon::OpenSnapshotStore() {
  snapshot_store_ = std::make_unique<metadata::SnapshotStore>(&store_->db(), snapshotters_);
  for (const auto& [name, sn] : snapshotters_) {
    absl::Status st = snapshot_store_->Cleanup(name);
    if (!st.ok()) {
      log::Warn("snapshot cleanup failed", {{"snapshotter", name}, {"error", st.ToString()}});
    }
  }
  return absl::OkStatus();
}

absl::Status Daemon::Listen() {
  const std::string& address = config_.grpc.address;
  RETURN_IF_ERROR(sys::MakeDirs(std::filesystem::path(address).parent_path(), 0711));
  RETURN_IF_ERROR(sys::ClearStaleSocket(address));

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat("unix:", address), grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(kMaxMessageSize);
  builder.SetMaxSendMessageSize(kMaxMessageSize);
  for (auto& service : services_) builder.RegisterService(service.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat("failed to serve on ", address));
  }
  RETURN_IF_ERROR(sys::Chmod(address, 0660));
  if (config_.grpc.uid != 0 || config_.grpc.gid != 0) {
    RETURN_IF_ERROR(sys::Chown(address, config_.grpc.uid, config_.grpc.gid));
  }
  return absl::OkStatus();
}

void Daemon::Stop(absl::Duration grace) {
  if (server_ != nullptr) {
    // Event streams never end by themselves; close them so Shutdown only waits for real work.
    if (events_service_ != nullptr) events_service_->CloseAll();
    server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(grace));
    server_->Wait();
    server_.reset();
  }
  // The shims keep running; only our connections to them close.
  tasks_.reset();
  // The reaper and the event sink call into gc_: stop them first.
  reaper_.reset();
  if (gc_subscription_ != 0) {
    exchange_.Unsubscribe(gc_subscription_);
    gc_subscription_ = 0;
  }
  gc_.reset();
}

Daemon::~Daemon() {
  Stop(absl::ZeroDuration());
  services_.clear();
  snapshot_store_.reset();
  snapshotters_.clear();
  snapshotter_backends_.clear();
  store_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace berth::daemon
