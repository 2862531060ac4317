#include "client/version.h"

namespace berth::client {

absl::StatusOr<VersionResponse> GetVersion(Client& client) {
  google::protobuf::Empty req;
  VersionResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.version().Version(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return resp;
}

}  // namespace berth::client
