// containerd.services.snapshots.v1.Snapshots over the namespaced metadata snapshot store: every
// RPC. Publishes /snapshot/prepare (Prepare only, not View), /snapshot/commit and
// /snapshot/remove, as containerd's snapshots-service does.
//
// As containerd's service, the snapshotter is checked before the namespace: an empty name is
// InvalidArgument "snapshotter argument missing", an unknown one "snapshotter not loaded: <x>".
// List streams the snapshots in blocks of 100. Cleanup needs no namespace: it repairs the whole
// snapshotter (metadata::SnapshotStore::Cleanup); containerd 1.6 answers it Unimplemented.
//
// Backend work (a native Prepare copies its parent, Remove deletes a tree) runs on gRPC's callback
// thread for the call. Thread-safety: as the store; the service holds no state of its own.
#pragma once

#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/snapshots/v1/snapshots.grpc.pb.h"
#include "metadata/snapshots.h"

namespace berth::services {

class SnapshotsService final
    : public containerd::services::snapshots::v1::Snapshots::CallbackService {
 public:
  SnapshotsService(metadata::SnapshotStore* store, events::Exchange* exchange)
      : store_(store), exchange_(exchange) {}

  grpc::ServerUnaryReactor* Prepare(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::PrepareSnapshotRequest* req,
      containerd::services::snapshots::v1::PrepareSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* View(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::ViewSnapshotRequest* req,
      containerd::services::snapshots::v1::ViewSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* Mounts(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::MountsRequest* req,
      containerd::services::snapshots::v1::MountsResponse* resp) override;
  grpc::ServerUnaryReactor* Commit(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::CommitSnapshotRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Remove(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::RemoveSnapshotRequest* req,
      google::protobuf::Empty* resp) override;
  grpc::ServerUnaryReactor* Stat(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::StatSnapshotRequest* req,
      containerd::services::snapshots::v1::StatSnapshotResponse* resp) override;
  grpc::ServerUnaryReactor* Update(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::UpdateSnapshotRequest* req,
      containerd::services::snapshots::v1::UpdateSnapshotResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::snapshots::v1::ListSnapshotsResponse>* List(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::ListSnapshotsRequest* req) override;
  grpc::ServerUnaryReactor* Usage(
      grpc::CallbackServerContext* ctx,
      const containerd::services::snapshots::v1::UsageRequest* req,
      containerd::services::snapshots::v1::UsageResponse* resp) override;
  grpc::ServerUnaryReactor* Cleanup(grpc::CallbackServerContext* ctx,
                                    const containerd::services::snapshots::v1::CleanupRequest* req,
                                    google::protobuf::Empty* resp) override;

 private:
  void Publish(absl::string_view ns, absl::string_view topic, const google::protobuf::Message& e);

  metadata::SnapshotStore* store_;
  events::Exchange* exchange_;
};

}  // namespace berth::services
