#include "client/snapshots.h"

namespace berth::client {

namespace sapi = containerd::services::snapshots::v1;

namespace {

std::vector<Mount> MountsOf(google::protobuf::RepeatedPtrField<Mount>* mounts) {
  return std::vector<Mount>(std::make_move_iterator(mounts->begin()),
                            std::make_move_iterator(mounts->end()));
}

}  // namespace

absl::StatusOr<std::vector<Mount>> PrepareSnapshot(Client& client, std::string_view snapshotter,
                                                   std::string_view key, std::string_view parent,
                                                   const Labels& labels) {
  sapi::PrepareSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  req.set_parent(std::string(parent));
  req.mutable_labels()->insert(labels.begin(), labels.end());
  sapi::PrepareSnapshotResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().Prepare(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return MountsOf(resp.mutable_mounts());
}

absl::StatusOr<std::vector<Mount>> ViewSnapshot(Client& client, std::string_view snapshotter,
                                                std::string_view key, std::string_view parent,
                                                const Labels& labels) {
  sapi::ViewSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  req.set_parent(std::string(parent));
  req.mutable_labels()->insert(labels.begin(), labels.end());
  sapi::ViewSnapshotResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().View(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return MountsOf(resp.mutable_mounts());
}

absl::StatusOr<std::vector<Mount>> SnapshotMounts(Client& client, std::string_view snapshotter,
                                                  std::string_view key) {
  sapi::MountsRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  sapi::MountsResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().Mounts(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return MountsOf(resp.mutable_mounts());
}

absl::Status CommitSnapshot(Client& client, std::string_view snapshotter, std::string_view name,
                            std::string_view key, const Labels& labels) {
  sapi::CommitSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_name(std::string(name));
  req.set_key(std::string(key));
  req.mutable_labels()->insert(labels.begin(), labels.end());
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.snapshots().Commit(ctx.get(), req, &resp));
}

absl::Status RemoveSnapshot(Client& client, std::string_view snapshotter, std::string_view key) {
  sapi::RemoveSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.snapshots().Remove(ctx.get(), req, &resp));
}

absl::StatusOr<SnapshotInfo> StatSnapshot(Client& client, std::string_view snapshotter,
                                          std::string_view key) {
  sapi::StatSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  sapi::StatSnapshotResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().Stat(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_info());
}

absl::StatusOr<SnapshotInfo> UpdateSnapshotLabels(Client& client, std::string_view snapshotter,
                                                  std::string_view key, const Labels& labels,
                                                  const std::vector<std::string>& paths) {
  sapi::UpdateSnapshotRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.mutable_info()->set_name(std::string(key));
  req.mutable_info()->mutable_labels()->insert(labels.begin(), labels.end());
  for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
  sapi::UpdateSnapshotResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().Update(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_info());
}

absl::StatusOr<std::vector<SnapshotInfo>> ListSnapshots(Client& client,
                                                        std::string_view snapshotter,
                                                        const std::vector<std::string>& filters) {
  sapi::ListSnapshotsRequest req;
  req.set_snapshotter(std::string(snapshotter));
  for (const auto& f : filters) req.add_filters(f);
  auto ctx = client.NewStreamContext();
  auto reader = client.snapshots().List(ctx.get(), req);
  std::vector<SnapshotInfo> out;
  sapi::ListSnapshotsResponse resp;
  while (reader->Read(&resp)) {
    for (auto& info : *resp.mutable_info()) out.push_back(std::move(info));
  }
  absl::Status status = FromGrpc(reader->Finish());
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<SnapshotUsage> GetSnapshotUsage(Client& client, std::string_view snapshotter,
                                               std::string_view key) {
  sapi::UsageRequest req;
  req.set_snapshotter(std::string(snapshotter));
  req.set_key(std::string(key));
  sapi::UsageResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.snapshots().Usage(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return SnapshotUsage{.size = resp.size(), .inodes = resp.inodes()};
}

absl::Status CleanupSnapshots(Client& client, std::string_view snapshotter) {
  sapi::CleanupRequest req;
  req.set_snapshotter(std::string(snapshotter));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.snapshots().Cleanup(ctx.get(), req, &resp));
}

std::string_view SnapshotKindName(SnapshotKind kind) {
  switch (kind) {
    case sapi::ACTIVE:
      return "Active";
    case sapi::VIEW:
      return "View";
    case sapi::COMMITTED:
      return "Committed";
    default:
      return "Unknown";
  }
}

}  // namespace berth::client
