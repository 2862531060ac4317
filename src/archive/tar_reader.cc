#include "archive/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth::archive {

namespace {

// Large reads: this is the hot path of image unpack, and with an uncompressed layer libarchive
// hands out entry data straight from this buffer, so file writes get blocks this size.
constexpr size_t kReadBufferSize = 1 << 20;
// Enough to recognise every supported compression's magic number.
constexpr size_t kMagicBytes = 6;

Compression Detect(absl::string_view head) {
  auto starts = [&](absl::string_view magic) { return head.substr(0, magic.size()) == magic; };
  if (starts("\x1f\x8b\x08")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (head.size() >= 4) {
    // zstd skippable frame (0x184D2A5?, little-endian), which containerd accepts too.
    uint32_t v = static_cast<uint8_t>(head[0]) | static_cast<uint8_t>(head[1]) << 8 |
                 static_cast<uint8_t>(head[2]) << 16 |
                 static_cast<uint32_t>(static_cast<uint8_t>(head[3])) << 24;
    if ((v & 0xFFFFFFF0u) == 0x184D2A50u) return Compression::kZstd;
  }
  if (starts(absl::string_view("\xfd"
                               "7zXZ\0",
                               6)))
    return Compression::kXz;
  if (starts("BZh") && head.size() >= 4 && head[3] >= '1' && head[3] <= '9') {
    return Compression::kBzip2;
  }
  return Compression::kNone;
}

}  // namespace

struct TarReader::Source {
  int fd = -1;
  std::vector<char> buf = std::vector<char>(kReadBufferSize);
  size_t peeked = 0;  // bytes at the start of buf read by Peek and not handed out yet
  absl::Status error;

  // Reads until kMagicBytes are buffered or the stream ends.
  absl::Status Peek() {
    while (peeked < kMagicBytes) {
      ssize_t n = ::read(fd, buf.data() + peeked, buf.size() - peeked);
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError(errno, "read layer");
      }
      if (n == 0) break;
      peeked += static_cast<size_t>(n);
    }
    return absl::OkStatus();
  }

  // The next bytes of the raw input: their size, 0 at the end, -1 on error.
  ssize_t Read(const void** out) {
    *out = buf.data();
    if (peeked > 0) return static_cast<ssize_t>(std::exchange(peeked, 0));
    for (;;) {
      ssize_t n = ::read(fd, buf.data(), buf.size());
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      error = ErrnoError(errno, "read layer");
      return -1;
    }
  }
};

struct Callbacks {
  // libarchive read callback for the decompressor: the raw (compressed) input.
  static la_ssize_t ReadCompressed(struct archive* a, void* self, const void** buf) {
    TarReader* r = static_cast<TarReader*>(self);
    ssize_t n = r->source_->Read(buf);
    if (n < 0) archive_set_error(a, EIO, "%s", r->source_->error.ToString().c_str());
    return n;
  }
  // libarchive read callback for the tar parser: the uncompressed stream.
  static la_ssize_t ReadTar(struct archive* a, void* self, const void** buf) {
    TarReader* r = static_cast<TarReader*>(self);
    int64_t n = r->NextUncompressed(buf);
    if (n < 0) archive_set_error(a, EIO, "%s", r->stream_error_.ToString().c_str());
    return n;
  }
};

TarReader::TarReader() : source_(std::make_unique<Source>()) {}

TarReader::~TarReader() {
  if (tar_ != nullptr) archive_read_free(tar_);
  if (decompress_ != nullptr) archive_read_free(decompress_);
}

absl::StatusOr<std::unique_ptr<TarReader>> TarReader::Open(int fd) {
  std::unique_ptr<TarReader> r(new TarReader());
  r->source_->fd = fd;
  RETURN_IF_ERROR(r->source_->Peek());
  r->compression_ = Detect(absl::string_view(r->source_->buf.data(), r->source_->peeked));

  if (r->compression_ != Compression::kNone) {
    // Decompression is a libarchive reader of its own (the "raw" format over one filter) that the
    // tar parser pulls from, so that the uncompressed bytes pass through our hands for hashing.
    r->decompress_ = archive_read_new();
    if (r->decompress_ == nullptr) return absl::ResourceExhaustedError("archive_read_new");
    int ok = ARCHIVE_OK;
    switch (r->compression_) {
      case Compression::kGzip:
        ok = archive_read_support_filter_gzip(r->decompress_);
        break;
      case Compression::kZstd:
        ok = archive_read_support_filter_zstd(r->decompress_);
        break;
      case Compression::kXz:
        ok = archive_read_support_filter_xz(r->decompress_);
        break;
      case Compression::kBzip2:
        ok = archive_read_support_filter_bzip2(r->decompress_);
        break;
      case Compression::kNone:
        break;
    }
    // ARCHIVE_WARN would mean libarchive falls back to running an external program.
    if (ok != ARCHIVE_OK) {
      return absl::UnimplementedError(absl::StrCat(
          "layer compression ", CompressionName(r->compression_), " is not supported: ",
          archive_error_string(r->decompress_) ? archive_error_string(r->decompress_) : ""));
    }
    archive_read_support_format_raw(r->decompress_);
    archive_read_support_format_empty(r->decompress_);
    if (archive_read_open(r->decompress_, r.get(), nullptr, &Callbacks::ReadCompressed, nullptr) !=
        ARCHIVE_OK) {
      if (!r->source_->error.ok()) return r->source_->error;
      return absl::DataLossError(
          absl::StrCat("invalid ", CompressionName(r->compression_),
                       " layer stream: ", archive_error_string(r->decompress_)));
    }
    struct archive_entry* entry;
    int rc = archive_read_next_header(r->decompress_, &entry);
    if (rc == ARCHIVE_EOF) {
      r->decompressed_eof_ = true;
    } else if (rc != ARCHIVE_OK) {
      if (!r->source_->error.ok()) return r->source_->error;
      return absl::DataLossError(
          absl::StrCat("invalid ", CompressionName(r->compression_),
                       " layer stream: ", archive_error_string(r->decompress_)));
    }
  }

  r->tar_ = archive_read_new();
  if (r->tar_ == nullptr) return absl::ResourceExhaustedError("archive_read_new");
  archive_read_support_format_tar(r->tar_);
  archive_read_support_format_empty(r->tar_);
  if (archive_read_open(r->tar_, r.get(), nullptr, &Callbacks::ReadTar, nullptr) != ARCHIVE_OK) {
    if (!r->stream_error_.ok()) return r->stream_error_;
    return absl::InvalidArgumentError(
        absl::StrCat("layer is not a tar archive: ", archive_error_string(r->tar_)));
  }
  return r;
}

int64_t TarReader::NextUncompressed(const void** buf) {
  int64_t n = 0;
  if (decompress_ == nullptr) {
    n = source_->Read(buf);
    if (n < 0) stream_error_ = source_->error;
  } else if (decompressed_eof_) {
    n = 0;
  } else {
    size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(decompress_, buf, &size, &offset);
    if (rc == ARCHIVE_EOF) {
      decompressed_eof_ = true;
      n = 0;
    } else if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN) {
      n = static_cast<int64_t>(size);
    } else {
      stream_error_ = !source_->error.ok()
                          ? source_->error
                          : absl::DataLossError(
                                absl::StrCat("invalid ", CompressionName(compression_),
                                             " layer stream: ", archive_error_string(decompress_)));
      n = -1;
    }
  }
  if (n > 0) {
    digester_.Update(absl::string_view(static_cast<const char*>(*buf), static_cast<size_t>(n)));
    uncompressed_size_ += n;
  }
  return n;
}

absl::Status TarReader::TarError(absl::string_view doing) {
  if (!stream_error_.ok()) return Annotate(stream_error_, doing);
  const char* msg = archive_error_string(tar_);
  return absl::DataLossError(
      absl::StrCat("invalid layer tar: ", doing, ": ", msg != nullptr ? msg : "unknown error"));
}

std::string TarReader::HeaderContext() const {
  if (last_entry_.empty()) return "reading the first tar header";
  return absl::StrCat("reading the tar header after \"", absl::CHexEscape(last_entry_), "\"");
}

absl::StatusOr<std::optional<TarEntry>> TarReader::Next() {
  struct archive_entry* e;
  int rc = archive_read_next_header(tar_, &e);
  if (rc == ARCHIVE_EOF) return std::nullopt;
  // ARCHIVE_WARN: typically a name that is not valid in the current locale's charset; the raw
  // bytes are still there, and they are what a Linux file name is.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return TarError(HeaderContext());

  TarEntry entry;
  const char* name = archive_entry_pathname(e);
  if (name == nullptr) return TarError(absl::StrCat(HeaderContext(), " (entry without a name)"));
  entry.name = name;
  last_entry_ = entry.name;
  const char* hardlink = archive_entry_hardlink(e);
  if (hardlink != nullptr) {
    entry.type = EntryType::kHardlink;
    entry.linkname = hardlink;
  } else {
    switch (archive_entry_filetype(e)) {
      case AE_IFREG:
        entry.type = EntryType::kFile;
        break;
      case AE_IFDIR:
        entry.type = EntryType::kDir;
        break;
      case AE_IFLNK: {
        entry.type = EntryType::kSymlink;
        const char* target = archive_entry_symlink(e);
        if (target != nullptr) entry.linkname = target;
        break;
      }
      case AE_IFCHR:
        entry.type = EntryType::kChar;
        break;
      case AE_IFBLK:
        entry.type = EntryType::kBlock;
        break;
      case AE_IFIFO:
        entry.type = EntryType::kFifo;
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "layer entry \"", absl::CHexEscape(entry.name), "\": unsupported tar entry type (mode ",
            absl::Hex(archive_entry_filetype(e)), ")"));
    }
  }
  entry.mode = archive_entry_perm(e) & 07777;
  entry.uid = archive_entry_uid(e);
  entry.gid = archive_entry_gid(e);
  entry.size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;
  entry.mtime.tv_sec = archive_entry_mtime(e);
  entry.mtime.tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    entry.atime = timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)};
  }
  entry.devmajor = static_cast<uint32_t>(archive_entry_rdevmajor(e));
  entry.devminor = static_cast<uint32_t>(archive_entry_rdevminor(e));
  if (archive_entry_xattr_reset(e) > 0) {
    const char* key;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      entry.xattrs.emplace_back(key, std::string(static_cast<const char*>(value), size));
    }
  }
  return entry;
}

absl::StatusOr<TarReader::Block> TarReader::ReadBlock() {
  const void* buf;
  size_t size;
  la_int64_t offset;
  int rc = archive_read_data_block(tar_, &buf, &size, &offset);
  if (rc == ARCHIVE_EOF) return Block{};
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
    return TarError(absl::StrCat("reading the data of \"", absl::CHexEscape(last_entry_), "\""));
  return Block{absl::string_view(static_cast<const char*>(buf), size), offset};
}

absl::StatusOr<TarReader::Summary> TarReader::Finish() {
  const void* buf;
  for (;;) {
    int64_t n = NextUncompressed(&buf);
    if (n == 0) break;
    if (n < 0) return Annotate(stream_error_, "reading the end of the layer stream");
  }
  return Summary{digester_.Current(), uncompressed_size_};
}

}  // namespace berth::archive
