#include "client/content.h"

#include "absl/strings/str_cat.h"

namespace berth::client {

namespace capi = containerd::services::content::v1;

absl::StatusOr<std::vector<ContentInfo>> ListContent(Client& client,
                                                     const std::vector<std::string>& filters) {
  capi::ListContentRequest req;
  for (const auto& f : filters) req.add_filters(f);
  auto ctx = client.NewStreamContext();
  auto reader = client.content().List(ctx.get(), req);
  std::vector<ContentInfo> out;
  capi::ListContentResponse resp;
  while (reader->Read(&resp)) {
    for (auto& info : *resp.mutable_info()) out.push_back(std::move(info));
  }
  absl::Status status = FromGrpc(reader->Finish());
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<ContentInfo> GetContentInfo(Client& client, std::string_view digest) {
  capi::InfoRequest req;
  req.set_digest(std::string(digest));
  capi::InfoResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.content().Info(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_info());
}

absl::StatusOr<ContentInfo> UpdateContentLabels(Client& client, std::string_view digest,
                                                const Labels& labels,
                                                const std::vector<std::string>& paths) {
  capi::UpdateRequest req;
  req.mutable_info()->set_digest(std::string(digest));
  req.mutable_info()->mutable_labels()->insert(labels.begin(), labels.end());
  for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
  capi::UpdateResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.content().Update(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_info());
}

absl::Status DeleteContent(Client& client, std::string_view digest) {
  capi::DeleteContentRequest req;
  req.set_digest(std::string(digest));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.content().Delete(ctx.get(), req, &resp));
}

absl::Status ReadContent(Client& client, std::string_view digest,
                         const std::function<absl::Status(std::string_view)>& sink,
                         int64_t offset, int64_t size) {
  capi::ReadContentRequest req;
  req.set_digest(std::string(digest));
  req.set_offset(offset);
  req.set_size(size);
  auto ctx = client.NewStreamContext();
  auto reader = client.content().Read(ctx.get(), req);
  capi::ReadContentResponse resp;
  absl::Status sunk;
  while (reader->Read(&resp)) {
    sunk = sink(resp.data());
    if (!sunk.ok()) {
      ctx->TryCancel();
      break;
    }
  }
  absl::Status status = FromGrpc(reader->Finish());
  if (!sunk.ok()) return sunk;
  return status;
}

absl::StatusOr<std::string> WriteContent(
    Client& client, const WriteOptions& options,
    const std::function<absl::StatusOr<std::string>(int64_t offset)>& source) {
  auto ctx = client.NewStreamContext();
  auto stream = client.content().Write(ctx.get());
  auto fail = [&](absl::Status local) -> absl::Status {
    stream->WritesDone();
    absl::Status remote = FromGrpc(stream->Finish());
    return remote.ok() ? local : remote;
  };

  capi::WriteContentRequest req;
  capi::WriteContentResponse resp;
  req.set_action(capi::STAT);
  req.set_ref(options.ref);
  req.set_total(options.total);
  req.set_expected(options.expected);
  if (!stream->Write(req) || !stream->Read(&resp)) {
    return fail(absl::UnavailableError(absl::StrCat("write ", options.ref, ": stream closed")));
  }
  int64_t offset = resp.offset();  // > 0: resuming an earlier ingest
  if (options.progress) options.progress(offset, options.total);
  for (;;) {
    absl::StatusOr<std::string> chunk = source(offset);
    if (!chunk.ok()) return fail(chunk.status());
    req.Clear();
    req.set_offset(offset);
    if (chunk->empty()) {
      req.set_action(capi::COMMIT);
      req.set_total(options.total);
      req.set_expected(options.expected);
      req.mutable_labels()->insert(options.labels.begin(), options.labels.end());
    } else {
      req.set_action(capi::WRITE);
      req.set_data(*std::move(chunk));
    }
    if (!stream->Write(req) || !stream->Read(&resp)) {
      return fail(absl::UnavailableError(absl::StrCat("write ", options.ref, ": stream closed")));
    }
    offset = resp.offset();
    if (options.progress) options.progress(offset, options.total);
    if (req.action() == capi::COMMIT) break;
  }
  stream->WritesDone();
  // containerd sends the commit response twice; Finish must not run before the stream is read
  // dry, or it waits forever.
  capi::WriteContentResponse extra;
  while (stream->Read(&extra)) {
  }
  absl::Status status = FromGrpc(stream->Finish());
  if (!status.ok()) return status;
  return resp.digest();
}

absl::StatusOr<std::vector<IngestStatus>> ListIngests(Client& client,
                                                     const std::vector<std::string>& filters) {
  capi::ListStatusesRequest req;
  for (const auto& f : filters) req.add_filters(f);
  capi::ListStatusesResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.content().ListStatuses(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::vector<IngestStatus>(std::make_move_iterator(resp.mutable_statuses()->begin()),
                                   std::make_move_iterator(resp.mutable_statuses()->end()));
}

absl::StatusOr<IngestStatus> GetIngest(Client& client, std::string_view ref) {
  capi::StatusRequest req;
  req.set_ref(std::string(ref));
  capi::StatusResponse resp;
  auto ctx = client.NewContext();
  absl::Status status = FromGrpc(client.content().Status(ctx.get(), req, &resp));
  if (!status.ok()) return status;
  return std::move(*resp.mutable_status());
}

absl::Status AbortIngest(Client& client, std::string_view ref) {
  capi::AbortRequest req;
  req.set_ref(std::string(ref));
  google::protobuf::Empty resp;
  auto ctx = client.NewContext();
  return FromGrpc(client.content().Abort(ctx.get(), req, &resp));
}

}  // namespace berth::client
