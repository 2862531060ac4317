#include "services/leases_service.h"

#include "api/time.h"
#include "services/common.h"

namespace berth::services {

namespace api = containerd::services::leases::v1;

namespace {

void LeaseToProto(const metadata::Lease& in, api::Lease* out) {
  out->set_id(in.id);
  *out->mutable_created_at() = berth::api::ToTimestamp(in.created_at);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

metadata::LeaseResource ResourceFromProto(const api::Resource& r) {
  return metadata::LeaseResource{.id = r.id(), .type = r.type()};
}

}  // namespace

grpc::ServerUnaryReactor* LeasesService::Create(grpc::CallbackServerContext* ctx,
                                                const api::CreateRequest* req,
                                                api::CreateResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  Labels labels(req->labels().begin(), req->labels().end());
  std::string id = req->id().empty() ? metadata::RandomLeaseId() : req->id();
  auto lease = store_->Create(rc->ns, id, labels);
  if (!lease.ok()) return Finish(ctx, lease.status());
  if (metadata::LeaseExpiry(lease->labels)) reaper_->Poke();
  LeaseToProto(*lease, resp->mutable_lease());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* LeasesService::Delete(grpc::CallbackServerContext* ctx,
                                                const api::DeleteRequest* req,
                                                google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  absl::Status st = store_->Delete(rc->ns, req->id());
  if (!st.ok() || gc_ == nullptr) return Finish(ctx, st);
  if (!req->sync()) {
    gc_->MarkDirty();
    return Finish(ctx, absl::OkStatus());
  }
  // `sync`: answer once what the lease held has been collected.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  gc_->RunNowAsync([reactor](const absl::StatusOr<metadata::GcStats>& collected) {
    reactor->Finish(ToGrpc(collected.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* LeasesService::List(grpc::CallbackServerContext* ctx,
                                              const api::ListRequest* req,
                                              api::ListResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::vector<std::string> fs(req->filters().begin(), req->filters().end());
  auto list = store_->List(rc->ns, fs);
  if (!list.ok()) return Finish(ctx, list.status());
  for (const metadata::Lease& l : *list) LeaseToProto(l, resp->add_leases());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* LeasesService::AddResource(grpc::CallbackServerContext* ctx,
                                                     const api::AddResourceRequest* req,
                                                     google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  return Finish(ctx, store_->AddResource(rc->ns, req->id(), ResourceFromProto(req->resource())));
}

grpc::ServerUnaryReactor* LeasesService::DeleteResource(grpc::CallbackServerContext* ctx,
                                                        const api::DeleteResourceRequest* req,
                                                        google::protobuf::Empty*) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  absl::Status st = store_->DeleteResource(rc->ns, req->id(), ResourceFromProto(req->resource()));
  if (st.ok() && gc_ != nullptr) gc_->MarkDirty();
  return Finish(ctx, st);
}

grpc::ServerUnaryReactor* LeasesService::ListResources(grpc::CallbackServerContext* ctx,
                                                       const api::ListResourcesRequest* req,
                                                       api::ListResourcesResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto list = store_->ListResources(rc->ns, req->id());
  if (!list.ok()) return Finish(ctx, list.status());
  for (const metadata::LeaseResource& r : *list) {
    api::Resource* out = resp->add_resources();
    out->set_id(r.id);
    out->set_type(r.type);
  }
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
