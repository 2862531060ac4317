// containerd.services.diff.v1.Diff: Apply (a layer blob from the content store onto mounts) and
// Diff (the layer between two mounts, written into the content store with containerd's
// `containerd.io/uncompressed` label). Both run on gRPC's callback thread for their duration
// (unpacking is I/O-bound and clients apply one layer at a time per image).
#pragma once

#include <string>

#include "github.com/containerd/containerd/api/services/diff/v1/diff.grpc.pb.h"
#include "metadata/content.h"

namespace berth::services {

class DiffService final : public containerd::services::diff::v1::Diff::CallbackService {
 public:
  // `scratch`: where temporary mount points and diff spools go (under the state dir).
  DiffService(metadata::ContentStore* content, std::string scratch)
      : content_(content), scratch_(std::move(scratch)) {}

  grpc::ServerUnaryReactor* Apply(grpc::CallbackServerContext* ctx,
                                  const containerd::services::diff::v1::ApplyRequest* req,
                                  containerd::services::diff::v1::ApplyResponse* resp) override;
  grpc::ServerUnaryReactor* Diff(grpc::CallbackServerContext* ctx,
                                 const containerd::services::diff::v1::DiffRequest* req,
                                 containerd::services::diff::v1::DiffResponse* resp) override;

 private:
  metadata::ContentStore* content_;
  const std::string scratch_;
};

}  // namespace berth::services
