// RemoteContentStore: a content::Store over containerd's Content gRPC API, so that the image
// library (archive import/export, walk, SetChildrenLabels) runs in a client against a daemon's
// store, in the client's namespace and under its lease, exactly as containerd's Go client
// (content/proxy) does.
//
// Mapping: Info/Update/Delete/Status/ListStatuses/Abort are the unary RPCs of the same names;
// Walk is List (a server stream); ReadAt is one Read stream with offset and size. A Writer is one
// Write stream: it opens with a STAT (which creates or resumes the ingest and takes its lock on
// the daemon), sends each Write at once (messages of at most 1 MiB, each answered, so the
// daemon's view of the ingest is always current) and ends with COMMIT; Close or destruction
// ends the stream and leaves the ingest resumable.
//
// Not supported: OpenBlob (there is no descriptor to hand out for a remote blob) returns
// Unimplemented; read through ReadAt instead. The image library only uses ReadAt.
//
// Errors are the daemon's, code and message unchanged (NotFound, AlreadyExists, Unavailable for a
// locked ref, ...), except where containerd's service words differ from the Store contract:
// ReadAt at or past the end reads nothing (the service says OutOfRange), and Commit of content
// that exists says "content <digest>: already exists" (the service: "blob with expected digest
// <digest> exists"). A broken stream reports the daemon's final status. The conformance suite
// (content/testsuite) runs against this store in test/remote_content_test.cc.
//
// Thread-safety: the store is as thread-safe as its Client (calls may run concurrently); a Writer
// is used by one thread at a time, like every content::Writer. The write-progress callback is
// called from the writing thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "client/client.h"
#include "content/store.h"

namespace berth::client {

class RemoteContentStore final : public content::Store {
 public:
  // `client` must outlive the store and every Writer it opened.
  explicit RemoteContentStore(Client& client) : client_(client) {}

  // Called with the number of bytes each flushed message carried (sum = bytes sent through all
  // writers of this store), e.g. to draw a progress bar. Set before writing.
  void set_write_progress(std::function<void(int64_t bytes)> fn) { progress_ = std::move(fn); }

  absl::StatusOr<content::Info> Info(const berth::Digest& digest) override;
  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       std::span<const std::string> fieldpaths) override;
  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) override;
  absl::Status Delete(const berth::Digest& digest) override;
  absl::StatusOr<std::string> ReadAt(const berth::Digest& digest, int64_t offset,
                                     size_t size) override;
  // Unimplemented (see the header comment).
  absl::StatusOr<sys::UniqueFd> OpenBlob(const berth::Digest& digest) override;
  absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total, const std::optional<berth::Digest>& expected) override;
  absl::StatusOr<content::Status> Status(const std::string& ref) override;
  absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters) override;
  absl::Status Abort(const std::string& ref) override;

 private:
  Client& client_;
  std::function<void(int64_t)> progress_;
};

// Conversions between the API's messages and the store's types. InvalidArgument for a digest the
// daemon sent that does not parse.
absl::StatusOr<content::Info> InfoFromProto(const containerd::services::content::v1::Info& in);
absl::StatusOr<content::Status> StatusFromProto(
    const containerd::services::content::v1::Status& in);

}  // namespace berth::client
