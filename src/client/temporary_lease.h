// TemporaryLease: containerd's Client.WithLease. Operations that create content and snapshots
// (import, unpack) run under a lease so that garbage collection cannot remove what they made
// before an image references it; once the image holds it, the lease is deleted.
//
// If the client already carries a lease, it is used and left alone. Otherwise a lease expiring
// after 24 h (so it is collected even if the client dies) is created and set on the client; End()
// or the destructor restores the client's previous (empty) lease and deletes the new one
// (asynchronously: the daemon collects later).
// Thread-safety: changes the Client's lease, so no other call may use that Client concurrently.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"

namespace berth::client {

inline constexpr absl::Duration kDefaultLeaseExpiry = absl::Hours(24);

class TemporaryLease {
 public:
  static absl::StatusOr<std::unique_ptr<TemporaryLease>> Begin(
      Client& client, absl::Duration expiry = kDefaultLeaseExpiry);
  ~TemporaryLease();
  TemporaryLease(const TemporaryLease&) = delete;
  TemporaryLease& operator=(const TemporaryLease&) = delete;

  // The lease in effect ("" never: either the client's own or the one created).
  const std::string& id() const { return id_; }
  // Deletes the created lease now and reports how that went. OK (and nothing done) when the
  // client's own lease was used or End already ran.
  absl::Status End();

 private:
  TemporaryLease(Client& client, std::string id, bool owned)
      : client_(client), id_(std::move(id)), owned_(owned) {}

  Client& client_;
  std::string id_;
  bool owned_;
};

}  // namespace berth::client
