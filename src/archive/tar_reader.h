// Reads an image layer: a tar stream, compressed or not, from a file descriptor (file or pipe).
//
// The compression is detected from the first bytes as containerd does (gzip, zstd; xz and bzip2
// come free with libarchive); anything else is read as an uncompressed tar. libarchive only
// parses here; nothing is written anywhere. While it reads, the reader hashes the uncompressed
// stream (sha256): that digest is the layer's diff_id, containerd's "containerd.io/uncompressed"
// label. Like containerd's applier, Finish() reads the stream to its end, so bytes after the tar's
// end-of-archive blocks count too.
//
// An empty stream (or one that decompresses to nothing) is a valid archive without entries, as
// for Go's archive/tar.
//
// Errors: DataLoss for a stream that cannot be decoded (corrupt or truncated compression, a tar
// header checksum error, truncated entry data), InvalidArgument for a stream that is not a tar at
// all; both name the last entry read. An I/O error on the descriptor keeps its errno class.
// Thread-safety: one TarReader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "archive/tar_entry.h"
#include "base/digest.h"
#include "content/digester.h"

struct archive;

namespace berth::archive {

class TarReader {
 public:
  // Starts reading the layer on `fd` (not owned; must stay open until the reader is destroyed).
  static absl::StatusOr<std::unique_ptr<TarReader>> Open(int fd);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry's header, or nullopt at the end of the archive. Skips whatever is left of the
  // previous entry's data.
  absl::StatusOr<std::optional<TarEntry>> Next();

  // One block of the current entry's data at file offset `offset` (sparse files leave holes
  // between blocks); an empty `data` means the entry's data is done. `data` stays valid until
  // the next call.
  struct Block {
    absl::string_view data;
    int64_t offset = 0;
  };
  absl::StatusOr<Block> ReadBlock();

  struct Summary {
    Digest uncompressed_digest;
    int64_t uncompressed_size = 0;
  };
  // Reads and hashes the rest of the stream; call after Next() returned nullopt.
  absl::StatusOr<Summary> Finish();

  Compression compression() const { return compression_; }

 private:
  struct Source;            // the descriptor plus a read-ahead buffer
  friend struct Callbacks;  // libarchive's read callbacks (tar_reader.cc)
  TarReader();
  // Hands the tar parser the next bytes of the uncompressed stream, hashing them: their size,
  // 0 at the end, -1 on error (stream_error_ says why).
  int64_t NextUncompressed(const void** buf);
  absl::Status TarError(absl::string_view doing);
  std::string HeaderContext() const;

  std::unique_ptr<Source> source_;
  Compression compression_ = Compression::kNone;
  struct archive* decompress_ = nullptr;  // format "raw" over the compression filter, or null
  struct archive* tar_ = nullptr;
  absl::Status stream_error_;  // the root cause when a callback failed
  content::Digester digester_;
  int64_t uncompressed_size_ = 0;
  bool decompressed_eof_ = false;
  std::string last_entry_;  // for messages
};

}  // namespace berth::archive
