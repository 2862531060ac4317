#include "client/remote_content.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/time.h"
#include "base/status.h"
#include "content/digester.h"

namespace berth::client {

namespace capi = containerd::services::content::v1;

namespace {

// The most data one WRITE message carries: well below the 16 MiB message limit, and what the
// image library writes at once anyway.
constexpr size_t kMaxChunk = 1 << 20;

absl::StatusOr<berth::Digest> ParseDigest(const std::string& s) {
  absl::StatusOr<berth::Digest> d = berth::Digest::Parse(s);
  if (!d.ok()) return Annotate(d.status(), "daemon sent a bad digest");
  return d;
}

// One ingest over one Write stream (see the header). Each Write is sent at once (in messages of
// at most kMaxChunk) and answered, so the daemon's ingest status is always current; the offset
// and digest come from the daemon's answers.
class RemoteWriter final : public content::Writer {
 public:
  using Progress = std::function<void(int64_t)>;

  static absl::StatusOr<std::unique_ptr<content::Writer>> Open(
      RemoteContentStore& store, Client& client, const std::string& ref, int64_t total,
      const std::optional<berth::Digest>& expected, const Progress* progress) {
    std::unique_ptr<RemoteWriter> w(new RemoteWriter(client, ref, progress));
    capi::WriteContentRequest req;
    req.set_action(capi::STAT);
    req.set_ref(ref);
    req.set_total(total);
    if (expected.has_value()) req.set_expected(expected->str());
    RETURN_IF_ERROR(w->RoundTrip(req));
    w->status_.ref = ref;
    w->status_.total = total;
    w->status_.expected = expected;
    w->status_.started_at = api::FromTimestamp(w->resp_.started_at());
    w->status_.updated_at = api::FromTimestamp(w->resp_.updated_at());
    if (total == 0 && w->offset_ > 0) {
      // The STAT answer echoes the total asked for; a resumed ingest may know its own.
      absl::StatusOr<content::Status> st = store.Status(ref);
      if (st.ok()) w->status_.total = st->total;
    }
    return std::unique_ptr<content::Writer>(std::move(w));
  }

  ~RemoteWriter() override { (void)Close(); }

  absl::Status Write(absl::string_view data) override {
    RETURN_IF_ERROR(Usable());
    while (!data.empty()) {
      absl::string_view chunk = data.substr(0, kMaxChunk);
      data.remove_prefix(chunk.size());
      capi::WriteContentRequest req;
      req.set_action(capi::WRITE);
      req.set_offset(offset_);
      req.set_data(chunk.data(), chunk.size());
      RETURN_IF_ERROR(RoundTrip(req));
      if (progress_ != nullptr && *progress_) (*progress_)(static_cast<int64_t>(chunk.size()));
    }
    return absl::OkStatus();
  }

  // The daemon digests what it holds, including data from before a resume.
  berth::Digest Digest() const override {
    if (absl::StatusOr<berth::Digest> d = berth::Digest::Parse(resp_.digest()); d.ok()) return *d;
    return content::Digester::FromBytes("");
  }

  content::Status Status() const override {
    content::Status s = status_;
    s.offset = offset_;
    return s;
  }

  absl::Status Truncate(int64_t size) override {
    if (size != 0) return ErrInvalidArgument("truncate: only size 0 is supported");
    RETURN_IF_ERROR(Usable());
    // A WRITE at offset 0 while the daemon holds data restarts the ingest.
    capi::WriteContentRequest req;
    req.set_action(capi::WRITE);
    req.set_offset(0);
    return RoundTrip(req);
  }

  absl::Status Commit(int64_t size, const std::optional<berth::Digest>& expected,
                      const Labels& labels) override {
    RETURN_IF_ERROR(Usable());
    capi::WriteContentRequest req;
    req.set_action(capi::COMMIT);
    req.set_offset(offset_);
    req.set_total(size);
    if (expected.has_value()) req.set_expected(expected->str());
    req.mutable_labels()->insert(labels.begin(), labels.end());
    absl::Status status = RoundTrip(req);
    if (absl::IsAlreadyExists(status) && expected.has_value()) {
      // containerd's service words it "blob with expected digest <d> exists"; the Writer
      // contract (and the local store) says "content <d>: already exists".
      return ErrAlreadyExists(absl::StrCat("content ", expected->str()));
    }
    RETURN_IF_ERROR(status);
    return EndStream();
  }

  absl::Status Close() override {
    if (!open_) return absl::OkStatus();
    return EndStream();
  }

 private:
  RemoteWriter(Client& client, std::string ref, const Progress* progress)
      : ctx_(client.NewStreamContext()),
        stream_(client.content().Write(ctx_.get())),
        ref_(std::move(ref)),
        progress_(progress) {}

  absl::Status Usable() const {
    if (!error_.ok()) return error_;
    if (!open_) {
      return ErrFailedPrecondition(absl::StrCat("writer for ref ", ref_, " is closed"));
    }
    return absl::OkStatus();
  }

  // Sends `req`, reads the answer into resp_ and takes its offset. When the stream breaks, the
  // daemon's final status is the error (kept: the writer is unusable afterwards).
  absl::Status RoundTrip(const capi::WriteContentRequest& req) {
    if (!stream_->Write(req) || !stream_->Read(&resp_)) {
      stream_->WritesDone();
      absl::Status status = FromGrpc(stream_->Finish());
      open_ = false;
      if (status.ok()) {
        status = absl::UnavailableError(absl::StrCat("write ", ref_, ": stream closed"));
      }
      error_ = status;
      return status;
    }
    offset_ = resp_.offset();
    if (resp_.has_updated_at()) status_.updated_at = api::FromTimestamp(resp_.updated_at());
    return absl::OkStatus();
  }

  // Half-closes and collects the daemon's status; the daemon keeps an uncommitted ingest.
  absl::Status EndStream() {
    open_ = false;
    stream_->WritesDone();
    absl::Status status = FromGrpc(stream_->Finish());
    if (!status.ok()) error_ = status;
    return status;
  }

  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<capi::WriteContentRequest, capi::WriteContentResponse>>
      stream_;
  const std::string ref_;
  const Progress* progress_;
  capi::WriteContentResponse resp_;
  int64_t offset_ = 0;  // the daemon's offset after its last answer
  content::Status status_;
  absl::Status error_;
  bool open_ = true;
};

}  // namespace

absl::StatusOr<content::Info> InfoFromProto(const capi::Info& in) {
  ASSIGN_OR_RETURN(berth::Digest digest, ParseDigest(in.digest()));
  return content::Info{
      .digest = std::move(digest),
      .size = in.size(),
      .created_at = api::FromTimestamp(in.created_at()),
      .updated_at = api::FromTimestamp(in.updated_at()),
      .labels = berth::Labels(in.labels().begin(), in.labels().end()),
  };
}

absl::StatusOr<content::Status> StatusFromProto(const capi::Status& in) {
  content::Status out{
      .ref = in.ref(),
      .offset = in.offset(),
      .total = in.total(),
      .started_at = api::FromTimestamp(in.started_at()),
      .updated_at = api::FromTimestamp(in.updated_at()),
  };
  if (!in.expected().empty()) {
    ASSIGN_OR_RETURN(out.expected, ParseDigest(in.expected()));
  }
  return out;
}

absl::StatusOr<content::Info> RemoteContentStore::Info(const berth::Digest& digest) {
  capi::InfoRequest req;
  req.set_digest(digest.str());
  capi::InfoResponse resp;
  auto ctx = client_.NewContext();
  RETURN_IF_ERROR(FromGrpc(client_.content().Info(ctx.get(), req, &resp)));
  return InfoFromProto(resp.info());
}

absl::StatusOr<content::Info> RemoteContentStore::Update(const content::Info& info,
                                                         std::span<const std::string> fieldpaths) {
  capi::UpdateRequest req;
  req.mutable_info()->set_digest(info.digest.str());
  req.mutable_info()->mutable_labels()->insert(info.labels.begin(), info.labels.end());
  for (const std::string& p : fieldpaths) req.mutable_update_mask()->add_paths(p);
  capi::UpdateResponse resp;
  auto ctx = client_.NewContext();
  RETURN_IF_ERROR(FromGrpc(client_.content().Update(ctx.get(), req, &resp)));
  return InfoFromProto(resp.info());
}

absl::Status RemoteContentStore::Walk(const WalkFn& fn, std::span<const std::string> filters) {
  capi::ListContentRequest req;
  for (const std::string& f : filters) req.add_filters(f);
  auto ctx = client_.NewStreamContext();
  auto reader = client_.content().List(ctx.get(), req);
  capi::ListContentResponse resp;
  absl::Status stopped;
  while (stopped.ok() && reader->Read(&resp)) {
    for (const capi::Info& in : resp.info()) {
      absl::StatusOr<content::Info> info = InfoFromProto(in);
      stopped = info.ok() ? fn(*info) : info.status();
      if (!stopped.ok()) break;
    }
  }
  if (!stopped.ok()) ctx->TryCancel();
  absl::Status status = FromGrpc(reader->Finish());
  return stopped.ok() ? status : stopped;
}

absl::Status RemoteContentStore::Delete(const berth::Digest& digest) {
  capi::DeleteContentRequest req;
  req.set_digest(digest.str());
  google::protobuf::Empty resp;
  auto ctx = client_.NewContext();
  return FromGrpc(client_.content().Delete(ctx.get(), req, &resp));
}

absl::StatusOr<std::string> RemoteContentStore::ReadAt(const berth::Digest& digest, int64_t offset,
                                                       size_t size) {
  if (offset < 0) return ErrInvalidArgument(absl::StrCat("negative offset ", offset));
  // Size 0 means "to the end" on the wire; here it means nothing.
  if (size == 0) return std::string();
  capi::ReadContentRequest req;
  req.set_digest(digest.str());
  req.set_offset(offset);
  req.set_size(static_cast<int64_t>(size));
  auto ctx = client_.NewStreamContext();
  auto reader = client_.content().Read(ctx.get(), req);
  capi::ReadContentResponse resp;
  std::string out;
  while (reader->Read(&resp)) out += resp.data();
  absl::Status status = FromGrpc(reader->Finish());
  // containerd's service refuses to read at or past the end; the store interface reads nothing.
  if (absl::IsOutOfRange(status)) return std::string();
  RETURN_IF_ERROR(status);
  return out;
}

absl::StatusOr<sys::UniqueFd> RemoteContentStore::OpenBlob(const berth::Digest& digest) {
  return absl::UnimplementedError(
      absl::StrCat("open blob ", digest.str(), ": not supported by the remote content store"));
}

absl::StatusOr<std::unique_ptr<content::Writer>> RemoteContentStore::Writer(
    const std::string& ref, int64_t total, const std::optional<berth::Digest>& expected) {
  if (ref.empty()) return ErrInvalidArgument("ref must not be empty");
  return RemoteWriter::Open(*this, client_, ref, total, expected, &progress_);
}

absl::StatusOr<content::Status> RemoteContentStore::Status(const std::string& ref) {
  capi::StatusRequest req;
  req.set_ref(ref);
  capi::StatusResponse resp;
  auto ctx = client_.NewContext();
  RETURN_IF_ERROR(FromGrpc(client_.content().Status(ctx.get(), req, &resp)));
  return StatusFromProto(resp.status());
}

absl::StatusOr<std::vector<content::Status>> RemoteContentStore::ListStatuses(
    std::span<const std::string> filters) {
  capi::ListStatusesRequest req;
  for (const std::string& f : filters) req.add_filters(f);
  capi::ListStatusesResponse resp;
  auto ctx = client_.NewContext();
  RETURN_IF_ERROR(FromGrpc(client_.content().ListStatuses(ctx.get(), req, &resp)));
  std::vector<content::Status> out;
  for (const capi::Status& s : resp.statuses()) {
    ASSIGN_OR_RETURN(content::Status st, StatusFromProto(s));
    out.push_back(std::move(st));
  }
  return out;
}

absl::Status RemoteContentStore::Abort(const std::string& ref) {
  capi::AbortRequest req;
  req.set_ref(ref);
  google::protobuf::Empty resp;
  auto ctx = client_.NewContext();
  return FromGrpc(client_.content().Abort(ctx.get(), req, &resp));
}

}  // namespace berth::client
