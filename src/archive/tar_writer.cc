#include "archive/tar_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "sys/file.h"

namespace berth::archive {

struct WriterCallbacks {
  static la_ssize_t WriteTar(struct archive* a, void* self, const void* buf, size_t size) {
    TarWriter* w = static_cast<TarWriter*>(self);
    int64_t n = w->TarOut(buf, size);
    if (n < 0) archive_set_error(a, EIO, "%s", w->io_error_.ToString().c_str());
    return n;
  }
  static la_ssize_t WriteOut(struct archive* a, void* self, const void* buf, size_t size) {
    TarWriter* w = static_cast<TarWriter*>(self);
    int64_t n = w->Out(buf, size);
    if (n < 0) archive_set_error(a, EIO, "%s", w->io_error_.ToString().c_str());
    return n;
  }
};

TarWriter::TarWriter(int fd, Compression compression) : fd_(fd), compression_(compression) {}

TarWriter::~TarWriter() {
  // archive_write_free closes first; an unclosed writer is being abandoned, so its tail (and any
  // error writing it) does not matter.
  if (tar_ != nullptr) archive_write_free(tar_);
  if (compress_ != nullptr) archive_write_free(compress_);
}

absl::Status TarWriter::Error(struct archive* a, absl::string_view doing) {
  if (!io_error_.ok()) return Annotate(io_error_, doing);
  const char* msg = archive_error_string(a);
  return absl::InternalError(
      absl::StrCat(doing, ": ", msg != nullptr ? msg : "unknown libarchive error"));
}

absl::StatusOr<std::unique_ptr<TarWriter>> TarWriter::Open(int fd, Compression compression) {
  std::unique_ptr<TarWriter> w(new TarWriter(fd, compression));
  if (compression != Compression::kNone) {
    w->compress_ = archive_write_new();
    if (w->compress_ == nullptr) return absl::ResourceExhaustedError("archive_write_new");
    int ok;
    const char* options = nullptr;
    switch (compression) {
      case Compression::kGzip:
        ok = archive_write_add_filter_gzip(w->compress_);
        // Like Go's gzip writer: no timestamp in the header, so equal tars compress equally.
        options = "gzip:!timestamp";
        break;
      case Compression::kZstd:
        ok = archive_write_add_filter_zstd(w->compress_);
        break;
      default:
        return absl::UnimplementedError(
            absl::StrCat("writing ", CompressionName(compression), " layers is not supported"));
    }
    if (ok != ARCHIVE_OK) return w->Error(w->compress_, "setting up compression");
    if (options != nullptr && archive_write_set_options(w->compress_, options) != ARCHIVE_OK) {
      return w->Error(w->compress_, "setting up compression");
    }
    archive_write_set_format_raw(w->compress_);
    archive_write_set_bytes_per_block(w->compress_, 0);
    if (archive_write_open2(w->compress_, w.get(), nullptr, &WriterCallbacks::WriteOut, nullptr,
                            nullptr) != ARCHIVE_OK) {
      return w->Error(w->compress_, "opening compressed stream");
    }
    // The raw format writes one "file": the whole tar.
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "layer.tar");
    archive_entry_set_filetype(e, AE_IFREG);
    int rc = archive_write_header(w->compress_, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return w->Error(w->compress_, "opening compressed stream");
  }

  w->tar_ = archive_write_new();
  if (w->tar_ == nullptr) return absl::ResourceExhaustedError("archive_write_new");
  // pax_restricted: ustar headers unless a value needs an extended header, as Go's writer does.
  if (archive_write_set_format_pax_restricted(w->tar_) != ARCHIVE_OK ||
      archive_write_set_options(w->tar_, "xattrheader=SCHILY") != ARCHIVE_OK) {
    return w->Error(w->tar_, "setting up tar writer");
  }
  // No blocking: Go's writer pads nothing beyond the two end-of-archive blocks.
  archive_write_set_bytes_per_block(w->tar_, 0);
  if (archive_write_open2(w->tar_, w.get(), nullptr, &WriterCallbacks::WriteTar, nullptr,
                          nullptr) != ARCHIVE_OK) {
    return w->Error(w->tar_, "opening tar writer");
  }
  return w;
}

int64_t TarWriter::TarOut(const void* buf, size_t size) {
  uncompressed_digester_.Update(absl::string_view(static_cast<const char*>(buf), size));
  uncompressed_size_ += static_cast<int64_t>(size);
  if (compress_ == nullptr) return Out(buf, size);
  const char* p = static_cast<const char*>(buf);
  size_t left = size;
  while (left > 0) {
    la_ssize_t n = archive_write_data(compress_, p, left);
    if (n <= 0) {
      if (io_error_.ok()) io_error_ = Error(compress_, "compressing layer");
      return -1;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return static_cast<int64_t>(size);
}

int64_t TarWriter::Out(const void* buf, size_t size) {
  absl::string_view data(static_cast<const char*>(buf), size);
  absl::Status st = sys::WriteAll(fd_, data, "layer output");
  if (!st.ok()) {
    io_error_ = st;
    return -1;
  }
  digester_.Update(data);
  size_ += static_cast<int64_t>(size);
  return static_cast<int64_t>(size);
}

absl::Status TarWriter::WriteHeader(const TarEntry& te) {
  struct archive_entry* e = archive_entry_new2(tar_);
  if (e == nullptr) return absl::ResourceExhaustedError("archive_entry_new");
  archive_entry_copy_pathname(e, te.name.c_str());
  mode_t type = AE_IFREG;
  switch (te.type) {
    case EntryType::kFile:
    case EntryType::kHardlink:
      type = AE_IFREG;
      break;
    case EntryType::kDir:
      type = AE_IFDIR;
      break;
    case EntryType::kSymlink:
      type = AE_IFLNK;
      break;
    case EntryType::kChar:
      type = AE_IFCHR;
      break;
    case EntryType::kBlock:
      type = AE_IFBLK;
      break;
    case EntryType::kFifo:
      type = AE_IFIFO;
      break;
  }
  archive_entry_set_filetype(e, type);
  archive_entry_set_perm(e, te.mode & 07777);
  archive_entry_set_uid(e, te.uid);
  archive_entry_set_gid(e, te.gid);
  archive_entry_set_mtime(e, te.mtime.tv_sec, te.mtime.tv_nsec);
  if (te.atime.has_value()) archive_entry_set_atime(e, te.atime->tv_sec, te.atime->tv_nsec);
  archive_entry_set_size(e, te.type == EntryType::kFile ? te.size : 0);
  if (te.type == EntryType::kSymlink) archive_entry_copy_symlink(e, te.linkname.c_str());
  if (te.type == EntryType::kHardlink) archive_entry_copy_hardlink(e, te.linkname.c_str());
  if (te.type == EntryType::kChar || te.type == EntryType::kBlock) {
    archive_entry_set_rdevmajor(e, te.devmajor);
    archive_entry_set_rdevminor(e, te.devminor);
  }
  for (const auto& [key, value] : te.xattrs) {
    archive_entry_xattr_add_entry(e, key.c_str(), value.data(), value.size());
  }
  int rc = archive_write_header(tar_, e);
  archive_entry_free(e);
  // ARCHIVE_WARN: a name not valid in the locale's charset, written as raw bytes
  // (hdrcharset=BINARY); that is what the name is on disk.
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
    return Error(tar_, absl::StrCat("writing tar header for ", te.name));
  }
  return absl::OkStatus();
}

absl::Status TarWriter::WriteData(absl::string_view data) {
  while (!data.empty()) {
    la_ssize_t n = archive_write_data(tar_, data.data(), data.size());
    if (n <= 0) return Error(tar_, "writing tar data");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::StatusOr<TarWriter::Summary> TarWriter::Close() {
  if (closed_) return absl::FailedPreconditionError("tar writer already closed");
  closed_ = true;
  if (archive_write_close(tar_) != ARCHIVE_OK) return Error(tar_, "ending tar");
  if (compress_ != nullptr && archive_write_close(compress_) != ARCHIVE_OK) {
    return Error(compress_, "ending compressed stream");
  }
  return Summary{digester_.Current(), size_, uncompressed_digester_.Current(), uncompressed_size_};
}

}  // namespace berth::archive
