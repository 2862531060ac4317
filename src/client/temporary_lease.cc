#include "client/temporary_lease.h"

#include "client/leases.h"

namespace berth::client {

absl::StatusOr<std::unique_ptr<TemporaryLease>> TemporaryLease::Begin(Client& client,
                                                                      absl::Duration expiry) {
  if (!client.lease().empty()) {
    return std::unique_ptr<TemporaryLease>(new TemporaryLease(client, client.lease(), false));
  }
  absl::StatusOr<Lease> lease = CreateLease(client, "", {}, expiry);
  if (!lease.ok()) return lease.status();
  client.set_lease(lease->id());
  return std::unique_ptr<TemporaryLease>(new TemporaryLease(client, lease->id(), true));
}

TemporaryLease::~TemporaryLease() { (void)End(); }

absl::Status TemporaryLease::End() {
  if (!owned_) return absl::OkStatus();
  owned_ = false;
  client_.set_lease("");
  return DeleteLease(client_, id_, /*sync=*/false);
}

}  // namespace berth::client
