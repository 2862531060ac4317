#include "services/diff_service.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "archive/mounts.h"
#include "base/status.h"
#include "images/types.h"
#include "services/common.h"
#include "sys/file.h"
#include "sys/fs.h"

namespace berth::services {

namespace api = containerd::services::diff::v1;

namespace {

constexpr char kLayerTar[] = "application/vnd.oci.image.layer.v1.tar";
constexpr char kLayerTarGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";
constexpr size_t kCopyChunk = 1 << 20;

std::vector<sys::Mount> MountsFromProto(
    const google::protobuf::RepeatedPtrField<containerd::types::Mount>& in) {
  std::vector<sys::Mount> out;
  for (const auto& m : in) {
    out.push_back(sys::Mount{.type = m.type(),
                             .source = m.source(),
                             .options = {m.options().begin(), m.options().end()}});
  }
  return out;
}

// containerd's uniqueRef: the clock and a little randomness.
std::string UniqueRef() {
  unsigned char b[9];
  if (getrandom(b, sizeof(b), 0) != static_cast<ssize_t>(sizeof(b))) {
    for (unsigned char& c : b) c = static_cast<unsigned char>(absl::ToUnixNanos(absl::Now()));
  }
  std::string encoded;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(b), sizeof(b)),
                            &encoded);
  return absl::StrCat(absl::ToUnixNanos(absl::Now()), "-", encoded);
}

absl::StatusOr<content::Info> Compare(content::Store& store, const api::DiffRequest& req,
                                      const std::string& scratch) {
  std::string media_type = req.media_type().empty() ? kLayerTarGzip : req.media_type();
  archive::Compression compression;
  if (media_type == kLayerTar) {
    compression = archive::Compression::kNone;
  } else if (media_type == kLayerTarGzip) {
    compression = archive::Compression::kGzip;
  } else {
    return ErrNotImplemented(absl::StrCat("unsupported diff media type: ", media_type));
  }
  // The layer is spooled to an unnamed file first: the content writer takes bytes, and a diff
  // must be complete before its digest is known.
  RETURN_IF_ERROR(sys::MakeDirs(scratch, 0700));
  int raw = ::open(scratch.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (raw < 0) return ErrnoError(errno, "create diff spool in " + scratch);
  sys::UniqueFd spool(raw);
  std::vector<sys::Mount> lower = MountsFromProto(req.left());
  std::vector<sys::Mount> upper = MountsFromProto(req.right());
  ASSIGN_OR_RETURN(archive::DiffResult diff, archive::WriteDiffOfMounts(
                                                 lower, upper, spool.get(), compression,
                                                 scratch + "/mounts"));

  const bool new_ref = req.ref().empty();
  const std::string ref = new_ref ? UniqueRef() : req.ref();
  ASSIGN_OR_RETURN(std::unique_ptr<content::Writer> writer,
                   store.Writer(ref, diff.size, std::nullopt));
  absl::Status written = [&]() -> absl::Status {
    if (!new_ref) RETURN_IF_ERROR(writer->Truncate(0));
    for (int64_t offset = 0; offset < diff.size;) {
      ASSIGN_OR_RETURN(std::string chunk,
                       sys::ReadAt(spool.get(), offset, kCopyChunk, "diff spool"));
      if (chunk.empty()) return absl::DataLossError("diff spool is shorter than the diff");
      RETURN_IF_ERROR(writer->Write(chunk));
      offset += static_cast<int64_t>(chunk.size());
    }
    Labels labels(req.labels().begin(), req.labels().end());
    if (compression != archive::Compression::kNone) {
      labels[kUncompressedLabel] = diff.uncompressed_digest.str();
    }
    absl::Status committed = writer->Commit(diff.size, diff.digest, labels);
    if (!committed.ok() && !absl::IsAlreadyExists(committed)) {
      return Annotate(committed, "failed to commit");
    }
    return absl::OkStatus();
  }();
  if (!written.ok()) {
    (void)writer->Close();
    if (new_ref) (void)store.Abort(ref);
    return written;
  }
  ASSIGN_OR_RETURN(content::Info info, store.Info(diff.digest));
  if (compression != archive::Compression::kNone && !info.labels.contains(kUncompressedLabel)) {
    // The blob already existed without the label: set it, as containerd does.
    info.labels[kUncompressedLabel] = diff.uncompressed_digest.str();
    std::vector<std::string> paths = {absl::StrCat("labels.", kUncompressedLabel)};
    ASSIGN_OR_RETURN(info, store.Update(info, paths));
  }
  return info;
}

}  // namespace

grpc::ServerUnaryReactor* DiffService::Apply(grpc::CallbackServerContext* ctx,
                                             const api::ApplyRequest* req,
                                             api::ApplyResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  auto digest = Digest::Parse(req->diff().digest());
  if (!digest.ok()) return Finish(ctx, ErrInvalidArgument(digest.status().message()));
  if (!images::LayerCompression(req->diff().media_type()).ok()) {
    return Finish(ctx, ErrNotImplemented(absl::StrCat("failed to get stream processor for ",
                                                      req->diff().media_type())));
  }
  auto fd = content_->View(rc->ns, rc->lease)->OpenBlob(*digest);
  if (!fd.ok()) return Finish(ctx, fd.status());
  std::vector<sys::Mount> mounts = MountsFromProto(req->mounts());
  auto applied = archive::ApplyLayerToMounts(fd->get(), mounts, scratch_ + "/mounts");
  if (!applied.ok()) {
    return Finish(ctx, Annotate(applied.status(), absl::StrCat("apply layer ", digest->str())));
  }
  auto* out = resp->mutable_applied();
  out->set_media_type(kLayerTar);
  out->set_digest(applied->uncompressed_digest.str());
  out->set_size(applied->uncompressed_size);
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* DiffService::Diff(grpc::CallbackServerContext* ctx,
                                            const api::DiffRequest* req,
                                            api::DiffResponse* resp) {
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  std::unique_ptr<content::Store> store = content_->View(rc->ns, rc->lease);
  auto info = Compare(*store, *req, scratch_);
  if (!info.ok()) return Finish(ctx, info.status());
  auto* out = resp->mutable_diff();
  out->set_media_type(req->media_type().empty() ? kLayerTarGzip : req->media_type());
  out->set_digest(info->digest.str());
  out->set_size(info->size);
  return Finish(ctx, absl::OkStatus());
}

}  // namespace berth::services
