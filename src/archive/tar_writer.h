// Writes an image layer: a tar stream (PAX, as Go's archive/tar writes it for containerd: plain
// ustar headers, with a pax extended header only where ustar cannot hold a value — long names,
// xattrs, large numbers), optionally gzip-compressed, to a file descriptor, while hashing both the
// written stream (the blob digest) and the uncompressed tar (the diff_id).
//
// libarchive formats the headers and compresses; nothing is buffered beyond its small internal
// blocks, so any size of layer streams through.
// Errors: Internal with libarchive's message for a header it cannot represent; I/O errors on the
// descriptor keep their errno class.
// Thread-safety: one TarWriter is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "archive/tar_entry.h"
#include "base/digest.h"
#include "content/digester.h"

struct archive;

namespace berth::archive {

class TarWriter {
 public:
  // Writes to `fd` (not owned; must stay open until Close). `compression` is kNone, kGzip or
  // kZstd; Unimplemented otherwise.
  static absl::StatusOr<std::unique_ptr<TarWriter>> Open(int fd, Compression compression);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  // Starts an entry. For a regular file, exactly `e.size` bytes of WriteData must follow.
  absl::Status WriteHeader(const TarEntry& e);
  absl::Status WriteData(absl::string_view data);

  struct Summary {
    Digest digest;  // of the bytes written to the descriptor
    int64_t size = 0;
    Digest uncompressed_digest;  // of the tar itself
    int64_t uncompressed_size = 0;
  };
  // Ends the archive (end-of-archive blocks, compression trailer). The writer is unusable after.
  absl::StatusOr<Summary> Close();

 private:
  friend struct WriterCallbacks;  // libarchive's write callbacks (tar_writer.cc)
  TarWriter(int fd, Compression compression);
  // The tar's bytes, hashed, then compressed (or written out as they are).
  int64_t TarOut(const void* buf, size_t size);
  // Bytes for the descriptor, hashed and written.
  int64_t Out(const void* buf, size_t size);
  absl::Status Error(struct archive* a, absl::string_view doing);

  const int fd_;
  const Compression compression_;
  struct archive* tar_ = nullptr;
  struct archive* compress_ = nullptr;  // format "raw" under the compression filter, or null
  absl::Status io_error_;
  content::Digester digester_;
  content::Digester uncompressed_digester_;
  int64_t size_ = 0;
  int64_t uncompressed_size_ = 0;
  bool closed_ = false;
};

}  // namespace berth::archive
