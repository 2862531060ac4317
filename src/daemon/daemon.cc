#include "daemon/daemon.h"

#include <grpcpp/health_check_service_interface.h>

#include <chrono>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "daemon/builtins.h"
#include "services/events_service.h"
#include "sys/fs.h"

namespace berth::daemon {

namespace {
constexpr int kMaxMessageSize = 16 << 20;  // containerd's limit, both ways
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

  for (const Builtin& b : Builtins()) {
    Plugin& p = plugins_.emplace_back();
    p.set_type(std::string(b.type));
    p.set_id(std::string(b.id));
    for (absl::string_view r : b.requires_) p.add_requires_(std::string(r));
    absl::Status status = b.init(*this);
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
  reaper_.reset();
}

Daemon::~Daemon() {
  Stop(absl::ZeroDuration());
  services_.clear();
  store_.reset();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

}  // namespace berth::daemon
