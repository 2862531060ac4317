#include "client/leases.h"

#include "absl/strings/str_cat.h"
#include "client/timestamps.h"

namespace berth::client {

namespace lapi = containerd::services::leases::v1;

absl::StatusOr<Lease> CreateLease(Client& client, std::string_view id, const Labels& labels,
                                  absl::Duration expires) {
  lapi::CreateRequest req;
  req.set_id(std::string(id));  // empty: the daemon picks one, as for ctr
  req.mutable_labels()->insert(labels.begin(), labels.end());
  if (expires > absl::ZeroDuration()) {
    (*req.mutable_labels())[kLeaseExpireLabel] = FormatRfc3339(absl::Now() + expires);
  }
  lapi::CreateResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.leases().Create(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_lease());
}

absl::StatusOr<std::vector<Lease>> ListLeases(Client& client,
                                              const std::vector<std::string>& filters) {
  lapi::ListRequest req;
  for (const auto& f : filters) req.add_filters(f);
  lapi::ListResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.leases().List(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<Lease>(std::make_move_iterator(resp.mutable_leases()->begin()),
                            std::make_move_iterator(resp.mutable_leases()->end()));
}

absl::Status DeleteLease(Client& client, std::string_view id, bool sync) {
  lapi::DeleteRequest req;
  req.set_id(std::string(id));
  req.set_sync(sync);
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.leases().Delete(ctx.get(), req, &resp));
}

absl::Status AddLeaseResource(Client& client, std::string_view lease_id,
                              const LeaseResource& resource) {
  lapi::AddResourceRequest req;
  req.set_id(std::string(lease_id));
  *req.mutable_resource() = resource;
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.leases().AddResource(ctx.get(), req, &resp));
}

absl::Status DeleteLeaseResource(Client& client, std::string_view lease_id,
                                 const LeaseResource& resource) {
  lapi::DeleteResourceRequest req;
  req.set_id(std::string(lease_id));
  *req.mutable_resource() = resource;
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.leases().DeleteResource(ctx.get(), req, &resp));
}

absl::StatusOr<std::vector<LeaseResource>> ListLeaseResources(Client& client,
                                                              std::string_view lease_id) {
  lapi::ListResourcesRequest req;
  req.set_id(std::string(lease_id));
  lapi::ListResourcesResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.leases().ListResources(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<LeaseResource>(std::make_move_iterator(resp.mutable_resources()->begin()),
                                    std::make_move_iterator(resp.mutable_resources()->end()));
}

}  // namespace berth::client
