#include "services/content_service.h"

#include <unistd.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "api/time.h"
#include "base/log.h"
#include "base/status.h"
#include "github.com/containerd/containerd/api/events/content.pb.h"
#include "services/common.h"
#include "services/stream_writer.h"

namespace berth::services {

namespace api = containerd::services::content::v1;

namespace {

// containerd sends List results in blocks of this many.
constexpr size_t kListBlock = 100;
// Read sends the blob in chunks of this size (well under the 16 MiB message limit).
constexpr int64_t kReadChunk = 1 << 20;

void InfoToProto(const content::Info& in, api::Info* out) {
  out->set_digest(in.digest.str());
  out->set_size(in.size);
  *out->mutable_created_at() = berth::api::ToTimestamp(in.created_at);
  *out->mutable_updated_at() = berth::api::ToTimestamp(in.updated_at);
  out->mutable_labels()->insert(in.labels.begin(), in.labels.end());
}

void StatusToProto(const content::Status& in, api::Status* out) {
  *out->mutable_started_at() = berth::api::ToTimestamp(in.started_at);
  *out->mutable_updated_at() = berth::api::ToTimestamp(in.updated_at);
  out->set_ref(in.ref);
  out->set_offset(in.offset);
  out->set_total(in.total);
  if (in.expected) out->set_expected(in.expected->str());
}

// containerd's digest.Validate wording for RPCs that name a digest.
absl::StatusOr<Digest> ValidDigest(const std::string& text) {
  absl::StatusOr<Digest> d = Digest::Parse(text);
  if (!d.ok()) return ErrInvalidArgument(absl::StrCat("\"", text, "\" failed validation"));
  return d;
}

// A namespace-scoped view of the store for this request.
absl::StatusOr<std::unique_ptr<content::Store>> ViewFor(metadata::ContentStore* store,
                                                       const grpc::ServerContextBase* ctx) {
  ASSIGN_OR_RETURN(RequestContext rc, Required(ctx));
  return store->View(std::move(rc.ns), std::move(rc.lease));
}

// Streams [offset, offset+size) of an open blob, one chunk per completed write.
class ReadReactor final : public grpc::ServerWriteReactor<api::ReadContentResponse> {
 public:
  ReadReactor(sys::UniqueFd fd, int64_t offset, int64_t size)
      : fd_(std::move(fd)), offset_(offset), end_(offset + size) {
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by client"));
      return;
    }
    Next();
  }
  void OnDone() override { delete this; }

 private:
  void Next() {
    if (offset_ >= end_) {
      Finish(grpc::Status::OK);
      return;
    }
    size_t n = static_cast<size_t>(std::min(kReadChunk, end_ - offset_));
    std::string* data = msg_.mutable_data();
    data->resize(n);
    ssize_t got;
    do {
      got = ::pread(fd_.get(), data->data(), n, offset_);
    } while (got < 0 && errno == EINTR);
    if (got <= 0) {
      absl::Status err = got < 0 ? ErrnoError(errno, "read blob")
                                 : absl::DataLossError("blob is shorter than its recorded size");
      Finish(ToGrpc(err));
      return;
    }
    data->resize(static_cast<size_t>(got));
    msg_.set_offset(offset_);
    offset_ += got;
    StartWrite(&msg_);
  }

  sys::UniqueFd fd_;
  int64_t offset_;
  const int64_t end_;
  api::ReadContentResponse msg_;
};

// One Write session: containerd's protocol of stat / write / commit requests, each answered.
// gRPC never runs two reactions of one reactor at once, and each reaction starts at most one
// operation, so the state below needs no lock.
class WriteReactor final
    : public grpc::ServerBidiReactor<api::WriteContentRequest, api::WriteContentResponse> {
 public:
  explicit WriteReactor(absl::StatusOr<std::unique_ptr<content::Store>> store)
      : store_(std::move(store)) {
    if (!store_.ok()) {
      Finish(ToGrpc(store_.status()));
      return;
    }
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client closed its side (or went away): the ingest stays, resumable by its ref.
      Close();
      Finish(grpc::Status::OK);
      return;
    }
    absl::Status status = Handle();
    if (!status.ok()) {
      if (!absl::IsAlreadyExists(status)) {
        log::Debug("content write failed", {{"ref", ref_}, {"error", status.ToString()}});
      }
      Close();
      Finish(ToGrpc(status));
      return;
    }
    StartWrite(&resp_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Close();
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "stream closed by client"));
      return;
    }
    if (committed_) {
      Finish(grpc::Status::OK);
      return;
    }
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  void Close() {
    if (writer_) {
      absl::Status st = writer_->Close();
      if (!st.ok()) log::Warn("close content writer", {{"ref", ref_}, {"error", st.ToString()}});
      writer_.reset();
    }
  }

  absl::Status Handle() {
    content::Store& store = **store_;
    if (!writer_) {
      ref_ = req_.ref();
      if (ref_.empty()) return ErrInvalidArgument("first message must have a reference");
      total_ = req_.total();
      if (!req_.expected().empty()) {
        ASSIGN_OR_RETURN(expected_, Digest::Parse(req_.expected()));
      }
      ASSIGN_OR_RETURN(writer_, store.Writer(ref_, total_, expected_));
    }
    resp_.Clear();
    resp_.set_action(req_.action());
    content::Status ws = writer_->Status();
    resp_.set_offset(ws.offset);

    if (!req_.expected().empty()) {
      ASSIGN_OR_RETURN(expected_, Digest::Parse(req_.expected()));
      if (store.Info(*expected_).ok()) {
        Close();
        absl::Status aborted = store.Abort(ref_);
        if (!aborted.ok()) log::Warn("abort write", {{"ref", ref_}, {"error", aborted.ToString()}});
        return ErrAlreadyExists(
            absl::StrCat("blob with expected digest ", expected_->str(), " exists"));
      }
    }
    if (req_.total() > 0) total_ = req_.total();

    switch (req_.action()) {
      case api::STAT:
        resp_.set_digest(writer_->Digest().str());
        *resp_.mutable_started_at() = berth::api::ToTimestamp(ws.started_at);
        *resp_.mutable_updated_at() = berth::api::ToTimestamp(ws.updated_at);
        resp_.set_total(total_);
        return absl::OkStatus();
      case api::WRITE:
      case api::COMMIT: {
        if (req_.offset() > 0 && req_.offset() != ws.offset) {
          return absl::OutOfRangeError(absl::StrCat("write @", req_.offset(),
                                                    " must occur at current offset ", ws.offset));
        }
        if (req_.offset() == 0 && ws.offset > 0) {
          RETURN_IF_ERROR(Annotate(writer_->Truncate(0), "truncate failed"));
          resp_.set_offset(0);
        }
        if (!req_.data().empty()) {
          RETURN_IF_ERROR(writer_->Write(req_.data()));
          resp_.set_offset(resp_.offset() + static_cast<int64_t>(req_.data().size()));
        }
        if (req_.action() == api::COMMIT) {
          Labels labels(req_.labels().begin(), req_.labels().end());
          RETURN_IF_ERROR(writer_->Commit(total_, expected_, labels));
          committed_ = true;
        }
        resp_.set_digest(writer_->Digest().str());
        if (committed_) writer_.reset();
        return absl::OkStatus();
      }
      default:
        return ErrInvalidArgument(absl::StrCat("unknown write action ", req_.action()));
    }
  }

  absl::StatusOr<std::unique_ptr<content::Store>> store_;
  std::unique_ptr<content::Writer> writer_;
  api::WriteContentRequest req_;
  api::WriteContentResponse resp_;
  std::string ref_;
  int64_t total_ = 0;
  std::optional<Digest> expected_;
  bool committed_ = false;
};

}  // namespace

grpc::ServerUnaryReactor* ContentService::Info(grpc::CallbackServerContext* ctx,
                                               const api::InfoRequest* req,
                                               api::InfoResponse* resp) {
  auto digest = ValidDigest(req->digest());
  if (!digest.ok()) return Finish(ctx, digest.status());
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return Finish(ctx, store.status());
  auto info = (*store)->Info(*digest);
  if (!info.ok()) return Finish(ctx, info.status());
  InfoToProto(*info, resp->mutable_info());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ContentService::Update(grpc::CallbackServerContext* ctx,
                                                 const api::UpdateRequest* req,
                                                 api::UpdateResponse* resp) {
  auto digest = ValidDigest(req->info().digest());
  if (!digest.ok()) return Finish(ctx, digest.status());
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return Finish(ctx, store.status());
  content::Info in{.digest = *digest,
                   .labels = Labels(req->info().labels().begin(), req->info().labels().end())};
  std::vector<std::string> paths(req->update_mask().paths().begin(),
                                 req->update_mask().paths().end());
  auto info = (*store)->Update(in, paths);
  if (!info.ok()) return Finish(ctx, info.status());
  InfoToProto(*info, resp->mutable_info());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<api::ListContentResponse>* ContentService::List(
    grpc::CallbackServerContext* ctx, const api::ListContentRequest* req) {
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return new FailedWriter<api::ListContentResponse>(store.status());
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  std::vector<api::ListContentResponse> blocks;
  absl::Status walked = (*store)->Walk(
      [&](const content::Info& info) {
        if (blocks.empty() || static_cast<size_t>(blocks.back().info_size()) >= kListBlock) {
          blocks.emplace_back();
        }
        InfoToProto(info, blocks.back().add_info());
        return absl::OkStatus();
      },
      filters);
  if (!walked.ok()) return new FailedWriter<api::ListContentResponse>(walked);
  return new VectorWriter<api::ListContentResponse>(std::move(blocks));
}

grpc::ServerUnaryReactor* ContentService::Delete(grpc::CallbackServerContext* ctx,
                                                 const api::DeleteContentRequest* req,
                                                 google::protobuf::Empty*) {
  auto digest = Digest::Parse(req->digest());
  if (!digest.ok()) return Finish(ctx, ErrInvalidArgument(digest.status().message()));
  auto rc = Required(ctx);
  if (!rc.ok()) return Finish(ctx, rc.status());
  absl::Status st = store_->View(rc->ns, rc->lease)->Delete(*digest);
  if (!st.ok()) return Finish(ctx, st);
  containerd::events::ContentDelete event;
  event.set_digest(digest->str());
  absl::Status published =
      exchange_->Publish(rc->ns, "/content/delete", events::PackEvent(event));
  if (!published.ok()) log::Warn("publish event", {{"error", published.ToString()}});
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerWriteReactor<api::ReadContentResponse>* ContentService::Read(
    grpc::CallbackServerContext* ctx, const api::ReadContentRequest* req) {
  using Failed = FailedWriter<api::ReadContentResponse>;
  auto digest = Digest::Parse(req->digest());
  if (!digest.ok()) {
    return new Failed(ErrInvalidArgument(
        absl::StrCat(req->digest(), ": ", digest.status().message())));
  }
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return new Failed(store.status());
  auto info = (*store)->Info(*digest);
  if (!info.ok()) return new Failed(info.status());
  auto fd = (*store)->OpenBlob(*digest);
  if (!fd.ok()) return new Failed(fd.status());
  int64_t offset = std::max<int64_t>(req->offset(), 0);
  if (offset > info->size) {
    return new Failed(
        absl::OutOfRangeError(absl::StrCat("read past object length ", info->size, " bytes")));
  }
  // `size` is how much to read, not the blob's size; 0 (or too much) means to the end.
  int64_t size = req->size();
  if (size <= 0 || offset + size > info->size) size = info->size - offset;
  return new ReadReactor(*std::move(fd), offset, size);
}

grpc::ServerUnaryReactor* ContentService::Status(grpc::CallbackServerContext* ctx,
                                                 const api::StatusRequest* req,
                                                 api::StatusResponse* resp) {
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return Finish(ctx, store.status());
  auto st = (*store)->Status(req->ref());
  if (!st.ok()) {
    return Finish(ctx, Annotate(st.status(),
                                absl::StrCat("could not get status for ref \"", req->ref(), "\"")));
  }
  StatusToProto(*st, resp->mutable_status());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* ContentService::ListStatuses(grpc::CallbackServerContext* ctx,
                                                       const api::ListStatusesRequest* req,
                                                       api::ListStatusesResponse* resp) {
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return Finish(ctx, store.status());
  std::vector<std::string> filters(req->filters().begin(), req->filters().end());
  auto statuses = (*store)->ListStatuses(filters);
  if (!statuses.ok()) return Finish(ctx, statuses.status());
  for (const content::Status& st : *statuses) StatusToProto(st, resp->add_statuses());
  return Finish(ctx, absl::OkStatus());
}

grpc::ServerBidiReactor<api::WriteContentRequest, api::WriteContentResponse>*
ContentService::Write(grpc::CallbackServerContext* ctx) {
  return new WriteReactor(ViewFor(store_, ctx));
}

grpc::ServerUnaryReactor* ContentService::Abort(grpc::CallbackServerContext* ctx,
                                                const api::AbortRequest* req,
                                                google::protobuf::Empty*) {
  auto store = ViewFor(store_, ctx);
  if (!store.ok()) return Finish(ctx, store.status());
  return Finish(ctx, (*store)->Abort(req->ref()));
}

}  // namespace berth::services
