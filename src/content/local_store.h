// LocalStore: the content store on a local directory, laid out as containerd's local store so
// that the same root can be inspected with the same expectations:
//
//   <root>/blobs/<alg>/<hex>                  committed blobs, read-only (0444)
//   <root>/ingest/<sha256(ref) hex>/ref       the ingest's ref
//                                    /data     the bytes written so far
//                                    /startedat, /updatedat   RFC 3339 times
//                                    /total    expected size, absent if unknown
//   <root>/labels/<alg>/<hex>                 the blob's labels as a JSON object (berth only)
//
// containerd keeps blob labels in the metadata database, not in the local store; berth keeps them
// in a sidecar so that the local store alone satisfies the Store contract. The sidecar is
// replaced atomically (temp file + rename) and removed with the blob.
//
// Paths are built only from validated digests (base/digest.h) and from the sha256 of a ref, so
// no input can name a file outside the root.
//
// Thread-safety: all methods may be called concurrently. Ref locks are in-process only (a mutex
// guarded set, as in containerd): the daemon's root lock keeps other processes out. Writers share
// the lock table, so a Writer may outlive its LocalStore.
#pragma once

#include <memory>
#include <string>

#include "content/store.h"

namespace berth::content {

class LocalStore : public Store {
 public:
  // Creates <root>, <root>/blobs and <root>/ingest as needed.
  static absl::StatusOr<std::unique_ptr<LocalStore>> Open(const std::string& root);

  absl::StatusOr<content::Info> Info(const berth::Digest& digest) override;
  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       std::span<const std::string> fieldpaths) override;
  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) override;
  absl::Status Delete(const berth::Digest& digest) override;
  absl::StatusOr<std::string> ReadAt(const berth::Digest& digest, int64_t offset,
                                     size_t size) override;
  absl::StatusOr<sys::UniqueFd> OpenBlob(const berth::Digest& digest) override;
  absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total, const std::optional<berth::Digest>& expected) override;
  absl::StatusOr<content::Status> Status(const std::string& ref) override;
  absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters) override;
  absl::Status Abort(const std::string& ref) override;

  // Where blob `digest` lives (whether or not it exists).
  std::string BlobPath(const berth::Digest& digest) const;
  // The directory of ingest `ref` (whether or not it exists).
  std::string IngestPath(const std::string& ref) const;

  class RefLocks;  // defined in local_store.cc

 private:
  LocalStore(std::string root, std::shared_ptr<RefLocks> locks);
  std::string LabelsPath(const berth::Digest& digest) const;
  absl::StatusOr<Labels> ReadLabels(const berth::Digest& digest, absl::Time* labels_mtime) const;
  absl::StatusOr<content::Info> InfoFromPath(const berth::Digest& digest,
                                             const std::string& path) const;
  // Reads the ingest in directory `dir`.
  absl::StatusOr<content::Status> StatusFromDir(const std::string& dir) const;

  const std::string root_;
  const std::shared_ptr<RefLocks> locks_;
};

}  // namespace berth::content
