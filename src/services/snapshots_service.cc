#include "services/snapshots_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/time.h"
#include "base/log.h"
#include "base/status.h"
#include "github.com/containerd/containerd/api/events/snapshot.pb.h"
#include "services/common.h"
#include "services/stream_writer.h"

namespace berth::services {

namespace api = containerd::services::snapshots::v1;

namespace {

// containerd sends List results in blocks of this many.
constexpr int kListBlock = 100;

// The snapshotter named by a request as the request's namespace sees it.
struct Opened {
  std::unique_ptr<snapshots::Snapshotter> sn;
  std::string ns;
  snapshots::Snapshotter* operator->() { return sn.get(); }
};

// The snapshotter is checked before the namespace, as containerd's service does.
absl::StatusOr<Opened> Open(metadata::SnapshotStore* store, const grpc::ServerContextBase* ctx,
                            const std::string& snapshotter) {
  absl::StatusOr<RequestContext> rc = Required(ctx);
  ASSIGN_OR_RETURN(
      std::unique_ptr<snapshots::Snapshotter> sn,
      store->View(snapshotter, rc.ok() ? rc->ns : "", rc.ok() ? rc->lease : std::nullopt));
  if (!rc.ok()) return rc.status();
  return Opened{.sn = std::move(sn), .ns = rc->ns};
}

Labels LabelsFrom(const google::protobuf::Map<std::string, std::string>& m) {
  return Labels(m.begin(), m.end());
}

void MountsToProto(const std::vector<sys::Mount>& mounts,
                   google::protobuf::RepeatedPtrField<containerd::types::Mount>* out) {
  for (const sys::Mount& m : mounts) {
    containerd::types::Mount* pm = out->Add();
    pm->set_type(m.type);
    pm->set_source(m.source);
    for (const std::string& o : m.options) pm->add_options(o);
  }
}

// containerd's fromKind: anything but active and view is reported committed.
api::Kind KindToProto(snapshots::Kind kind) {
  if (kind == snapshots::Kind::kActive) return api::ACTIVE;
  if (kind == snapshots::Kind::kView) return api::VIEW;
  return api::COMMITTED;
}

void InfoToProto(const snapshots::Info& in, api::Info* out) {
  out->set_name(in.name);
  out->set_parent(in.parent);
  out->set_kind(KindToProto(in.kind));
  *out->mutable_created_at() = berth::api::ToTimestamp(in.created);
  *out->mutable_updated_at() = berth::api::ToTimestamp(in.updated);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

}  // namespace

void SnapshotsService::Publish(absl::string_view ns, absl::string_view topic,
                               const google::protobuf::Message& event) {
  absl::Status status = exchange_->Publish(ns, topic, events::PackEvent(event));
  if (!status.ok()) log::Warn("publish event", {{"topic", topic}, {"error", status.ToString()}});
}

grpc::ServerUnaryReactor* SnapshotsService::Prepare(grpc::CallbackServerContext* ctx,
                                                    const api::PrepareSnapshotRequest* req,
                                                    api::PrepareSnapshotResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  auto mounts = (*sn)->Prepare(req->key(), req->parent(), LabelsFrom(req->labels()));
  if (!mounts.ok()) return Finish(ctx, mounts.status());
  MountsToProto(*mounts, resp->mutable_mounts());
  containerd::events::SnapshotPrepare event;
  event.set_key(req->key());
  event.set_parent(req->parent());
  Publish(sn->ns, "/snapshot/prepare", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::View(grpc::CallbackServerContext* ctx,
                                                 const api::ViewSnapshotRequest* req,
                                                 api::ViewSnapshotResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  auto mounts = (*sn)->View(req->key(), req->parent(), LabelsFrom(req->labels()));
  if (!mounts.ok()) return Finish(ctx, mounts.status());
  MountsToProto(*mounts, resp->mutable_mounts());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Mounts(grpc::CallbackServerContext* ctx,
                                                   const api::MountsRequest* req,
                                                   api::MountsResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  auto mounts = (*sn)->Mounts(req->key());
  if (!mounts.ok()) return Finish(ctx, mounts.status());
  MountsToProto(*mounts, resp->mutable_mounts());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Commit(grpc::CallbackServerContext* ctx,
                                                   const api::CommitSnapshotRequest* req,
                                                   google::protobuf::Empty*) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  absl::Status st = (*sn)->Commit(req->name(), req->key(), LabelsFrom(req->labels()));
  if (!st.ok()) return Finish(ctx, st);
  containerd::events::SnapshotCommit event;
  event.set_key(req->key());
  event.set_name(req->name());
  Publish(sn->ns, "/snapshot/commit", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Remove(grpc::CallbackServerContext* ctx,
                                                   const api::RemoveSnapshotRequest* req,
                                                   google::protobuf::Empty*) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  absl::Status st = (*sn)->Remove(req->key());
  if (!st.ok()) return Finish(ctx, st);
  containerd::events::SnapshotRemove event;
  event.set_key(req->key());
  Publish(sn->ns, "/snapshot/remove", event);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Stat(grpc::CallbackServerContext* ctx,
                                                 const api::StatSnapshotRequest* req,
                                                 api::StatSnapshotResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  auto info = (*sn)->Stat(req->key());
  if (!info.ok()) return Finish(ctx, info.status());
  InfoToProto(*info, resp->mutable_info());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Update(grpc::CallbackServerContext* ctx,
                                                   const api::UpdateSnapshotRequest* req,
                                                   api::UpdateSnapshotResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  // Only the name and labels matter: every other field is immutable.
  const snapshots::Info in{.name = req->info().name(), .labels = LabelsFrom(req->info().labels())};
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto info = (*sn)->Update(in, paths);
  if (!info.ok()) return Finish(ctx, info.status());
  InfoToProto(*info, resp->mutable_info());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<api::ListSnapshotsResponse>* SnapshotsService::List(
    grpc::CallbackServerContext* ctx, const api::ListSnapshotsRequest* req) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return new FailedWriter<api::ListSnapshotsResponse>(sn.status());
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  std::vector<api::ListSnapshotsResponse> blocks;
  absl::Status walked = (*sn)->Walk(
      [&](const snapshots::Info& info) {
        if (blocks.empty() || blocks.back().info_size() >= kListBlock) blocks.emplace_back();
        InfoToProto(info, blocks.back().add_info());
        return absl::OkStatus();
      },
      filters);
  if (!walked.ok()) return new FailedWriter<api::ListSnapshotsResponse>(walked);
  return new VectorWriter<api::ListSnapshotsResponse>(std::move(blocks));
}

grpc::ServerUnaryReactor* SnapshotsService::Usage(grpc::CallbackServerContext* ctx,
                                                  const api::UsageRequest* req,
                                                  api::UsageResponse* resp) {
  auto sn = Open(store_, ctx, req->snapshotter());
  if (!sn.ok()) return Finish(ctx, sn.status());
  auto usage = (*sn)->Usage(req->key());
  if (!usage.ok()) return Finish(ctx, usage.status());
  resp->set_size(usage->size);
  resp->set_inodes(usage->inodes);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* SnapshotsService::Cleanup(grpc::CallbackServerContext* ctx,
                                                    const api::CleanupRequest* req,
                                                    google::protobuf::Empty*) {
  return Finish(ctx, store_->Cleanup(req->snapshotter()));
}

}  // namespace berth::services
