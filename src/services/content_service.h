// containerd.services.content.v1.Content over the namespaced metadata content store: every RPC,
// including the streamed Read and the bidirectional Write. Publishes /content/delete.
//
// Streams hold no thread: Read sends one chunk per write completion; Write handles one request
// per read completion (the disk write happens on gRPC's callback thread, bounded by the 16 MiB
// message limit). A client that disconnects mid-Write leaves the ingest in place, resumable by
// its ref.
#pragma once

#include "events/exchange.h"
#include "github.com/containerd/containerd/api/services/content/v1/content.grpc.pb.h"
#include "metadata/content.h"

namespace berth::services {

class ContentService final : public containerd::services::content::v1::Content::CallbackService {
 public:
  ContentService(metadata::ContentStore* store, events::Exchange* exchange)
      : store_(store), exchange_(exchange) {}

  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* ctx,
                                 const containerd::services::content::v1::InfoRequest* req,
                                 containerd::services::content::v1::InfoResponse* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::UpdateRequest* req,
                                   containerd::services::content::v1::UpdateResponse* resp) override;
  grpc::ServerWriteReactor<containerd::services::content::v1::ListContentResponse>* List(
      grpc::CallbackServerContext* ctx,
      const containerd::services::content::v1::ListContentRequest* req) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::DeleteContentRequest* req,
                                   google::protobuf::Empty* resp) override;
  grpc::ServerWriteReactor<containerd::services::content::v1::ReadContentResponse>* Read(
      grpc::CallbackServerContext* ctx,
      const containerd::services::content::v1::ReadContentRequest* req) override;
  grpc::ServerUnaryReactor* Status(grpc::CallbackServerContext* ctx,
                                   const containerd::services::content::v1::StatusRequest* req,
                                   containerd::services::content::v1::StatusResponse* resp) override;
  grpc::ServerUnaryReactor* ListStatuses(
      grpc::CallbackServerContext* ctx,
      const containerd::services::content::v1::ListStatusesRequest* req,
      containerd::services::content::v1::ListStatusesResponse* resp) override;
  grpc::ServerBidiReactor<containerd::services::content::v1::WriteContentRequest,
                          containerd::services::content::v1::WriteContentResponse>*
  Write(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* ctx,
                                  const containerd::services::content::v1::AbortRequest* req,
                                  google::protobuf::Empty* resp) override;

 private:
  metadata::ContentStore* store_;
  events::Exchange* exchange_;
};

}  // namespace berth::services
