// The content store: immutable blobs addressed by their digest, written through resumable
// ingests named by a client-chosen `ref` (containerd's content.Store).
//
// An interface because a metadata-backed, namespaced store will wrap the local one; both run the
// conformance suite in content/testsuite. Implementations document their own thread-safety; a
// Writer is used by one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/digest.h"
#include "base/filters.h"
#include "base/labels.h"
#include "sys/unique_fd.h"

namespace berth::content {

struct Info {
  berth::Digest digest;
  int64_t size = 0;
  absl::Time created_at;
  absl::Time updated_at;
  Labels labels;
};

// The state of an ingest (an unfinished write).
struct Status {
  std::string ref;
  int64_t offset = 0;  // bytes written so far
  int64_t total = 0;   // expected size, 0 if unknown
  std::optional<berth::Digest> expected;
  absl::Time started_at;
  absl::Time updated_at;
};

// Writes one ingest. Holds the ref's lock until Commit succeeds, Close, or destruction.
class Writer {
 public:
  virtual ~Writer() = default;

  // Appends `data` at the current offset.
  virtual absl::Status Write(absl::string_view data) = 0;
  // Digest of everything written so far (including data written before a resume).
  virtual berth::Digest Digest() const = 0;
  virtual content::Status Status() const = 0;
  // Discards the data past `size`; only 0 is supported (InvalidArgument otherwise), which
  // restarts the ingest.
  virtual absl::Status Truncate(int64_t size) = 0;
  // Verifies the written data and makes it visible as a blob, atomically. `size` is checked if
  // > 0, `expected` if set: FailedPrecondition "unexpected commit size|digest ..." otherwise, with
  // nothing made visible. AlreadyExists "content <digest>: already exists" if the blob is already
  // there (the ingest is removed). `labels` are attached to the new blob. Closes the writer.
  virtual absl::Status Commit(int64_t size, const std::optional<berth::Digest>& expected,
                              const Labels& labels = {}) = 0;
  // Releases the ref without removing the ingest, so that a later Writer on the same ref resumes
  // at its offset. Further calls other than Close fail with FailedPrecondition.
  virtual absl::Status Close() = 0;
};

// Whether `info` matches `filter` (fields `digest` and `labels.<key>`; `size` is never present,
// as in containerd).
bool MatchInfo(const filters::Filter& filter, const Info& info);
// Whether ingest `status` matches `filter` (field `ref`).
bool MatchStatus(const filters::Filter& filter, const Status& status);

class Store {
 public:
  // Called for each blob; a non-OK status stops the walk and is returned by Walk.
  using WalkFn = std::function<absl::Status(const content::Info&)>;

  virtual ~Store() = default;

  // NotFound "content digest <d>: not found" if there is no such blob.
  virtual absl::StatusOr<content::Info> Info(const berth::Digest& digest) = 0;

  // Updates the mutable fields of blob `info.digest`, i.e. its labels. `fieldpaths` name what
  // to change: "labels" replaces them all, "labels.<key>" sets one key (removes it if absent from
  // `info.labels`); no paths replaces all labels. Other paths: InvalidArgument. NotFound as Info.
  virtual absl::StatusOr<content::Info> Update(const content::Info& info,
                                               std::span<const std::string> fieldpaths) = 0;

  // Calls `fn` for each blob matching `filters` (containerd syntax, OR'ed; fields `digest` and
  // `labels.<key>`; `size` is never present, as in containerd).
  virtual absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) = 0;
  absl::StatusOr<std::vector<content::Info>> List(std::span<const std::string> filters);

  // Removes a blob. NotFound as Info.
  virtual absl::Status Delete(const berth::Digest& digest) = 0;

  // Reads up to `size` bytes of a blob from `offset`; fewer only at the end of the blob.
  // NotFound as Info; InvalidArgument for a negative offset.
  virtual absl::StatusOr<std::string> ReadAt(const berth::Digest& digest, int64_t offset,
                                             size_t size) = 0;
  // A read-only descriptor of the blob, for streaming it (layers are applied from it).
  // NotFound as Info.
  virtual absl::StatusOr<sys::UniqueFd> OpenBlob(const berth::Digest& digest) = 0;

  // Opens the ingest `ref`, creating it or resuming it at its offset. `total` (0 if unknown) is
  // recorded; `expected`, if given and already present, fails with AlreadyExists. Unavailable
  // "ref <ref> locked: unavailable" while another Writer holds `ref`. InvalidArgument for an empty
  // ref.
  virtual absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total, const std::optional<berth::Digest>& expected) = 0;

  // The ingest `ref`; NotFound "ingest ref \"<ref>\": not found" if there is none.
  virtual absl::StatusOr<content::Status> Status(const std::string& ref) = 0;
  // Ingests matching `filters` (field `ref`), ordered by ref.
  virtual absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters) = 0;
  // Removes the ingest `ref`; NotFound as Status.
  virtual absl::Status Abort(const std::string& ref) = 0;
};

}  // namespace berth::content
