// Typed helpers for containerd.services.content.v1.Content: blobs by digest, and ingests
// (resumable writes named by a ref). Errors are the daemon's, unchanged. Thread-safety: as Client.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "client/labels.h"

namespace berth::client {

using ContentInfo = containerd::services::content::v1::Info;
using IngestStatus = containerd::services::content::v1::Status;

// Blobs in the client's namespace matching any of `filters` (none = all).
absl::StatusOr<std::vector<ContentInfo>> ListContent(Client& client,
                                                     const std::vector<std::string>& filters = {});
absl::StatusOr<ContentInfo> GetContentInfo(Client& client, std::string_view digest);
// Replaces the blob's labels (no paths) or sets the `labels.<key>` paths given.
absl::StatusOr<ContentInfo> UpdateContentLabels(Client& client, std::string_view digest,
                                                const Labels& labels,
                                                const std::vector<std::string>& paths = {});
absl::Status DeleteContent(Client& client, std::string_view digest);

// Streams `size` bytes (0 = to the end) of a blob from `offset` to `sink`, chunk by chunk.
absl::Status ReadContent(Client& client, std::string_view digest,
                         const std::function<absl::Status(std::string_view)>& sink,
                         int64_t offset = 0, int64_t size = 0);

// What WriteContent needs to know about the blob being written.
struct WriteOptions {
  std::string ref;                  // the ingest's name; a later write with it resumes
  int64_t total = 0;                // expected size, 0 if unknown
  std::string expected;             // expected digest, empty if unknown
  Labels labels;                    // attached on commit
  // Called after each chunk with the bytes written so far (for progress bars).
  std::function<void(int64_t offset, int64_t total)> progress;
};

// Writes a blob from `source` (which returns the next chunk, empty at the end) through ingest
// `options.ref`: asks the daemon where the ingest stands, skips what it already holds (resume),
// writes the rest and commits. Returns the committed digest. AlreadyExists if the namespace
// already has `expected` (nothing is written then).
absl::StatusOr<std::string> WriteContent(
    Client& client, const WriteOptions& options,
    const std::function<absl::StatusOr<std::string>(int64_t offset)>& source);

absl::StatusOr<std::vector<IngestStatus>> ListIngests(Client& client,
                                                     const std::vector<std::string>& filters = {});
absl::StatusOr<IngestStatus> GetIngest(Client& client, std::string_view ref);
absl::Status AbortIngest(Client& client, std::string_view ref);

}  // namespace berth::client
