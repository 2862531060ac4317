#include "images/archive_import.h"

#include <archive.h>
#include <archive_entry.h>

#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "content/digester.h"
#include "images/walk.h"
#include "nlohmann/json.hpp"

namespace berth::images {
namespace {

constexpr size_t kChunk = 1 << 20;
constexpr int64_t kJsonLimit = 20 << 20;
constexpr char kOciLayoutVersion[] = "1.0.0";

struct ReadArchiveFree {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct WriteArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

absl::Status ArchiveError(struct archive* a, absl::string_view what) {
  const char* msg = archive_error_string(a);
  return ErrInvalidArgument(absl::StrCat(what, ": ", msg != nullptr ? msg : "unknown error"));
}

// A member name made canonical ("./a//b" -> "a/b"), or InvalidArgument for names that are
// absolute or climb with "..": nothing is written by name, but such an archive is not one any
// image tool produces.
absl::StatusOr<std::string> CleanMemberName(absl::string_view name) {
  if (name.empty() || name[0] == '/') {
    return ErrInvalidArgument(absl::StrCat("archive member \"", name, "\": invalid name"));
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return ErrInvalidArgument(
          absl::StrCat("archive member \"", name, "\": path traversal is not allowed"));
    }
    parts.push_back(part);
  }
  return absl::StrJoin(parts, "/");
}

// Makes ingest refs unique per import, so that concurrent imports never contend for a ref.
std::string Nonce() {
  std::random_device rd;
  return absl::StrFormat("%08x%08x", rd(), rd());
}

// A blob stored from the archive.
struct Blob {
  berth::Digest digest;
  int64_t size;
};

// One entry of a docker-archive manifest.json.
struct DockerEntry {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

absl::StatusOr<std::vector<DockerEntry>> ParseDockerManifest(absl::string_view text) {
  auto bad = [](absl::string_view what) {
    return ErrInvalidArgument(absl::StrCat("invalid manifest.json: ", what));
  };
  nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return bad("malformed JSON");
  if (!j.is_array()) return bad("expected an array");
  std::vector<DockerEntry> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const nlohmann::json& e = j[i];
    std::string at = absl::StrCat("[", i, "]");
    if (!e.is_object()) return bad(absl::StrCat(at, ": expected an object"));
    DockerEntry entry;
    auto config = e.find("Config");
    if (config == e.end() || !config->is_string()) return bad(absl::StrCat(at, ".Config: missing"));
    entry.config = config->get<std::string>();
    for (const char* key : {"RepoTags", "Layers"}) {
      auto it = e.find(key);
      if (it == e.end() || it->is_null()) continue;
      if (!it->is_array()) return bad(absl::StrCat(at, ".", key, ": expected an array"));
      for (const nlohmann::json& s : *it) {
        if (!s.is_string()) return bad(absl::StrCat(at, ".", key, ": expected strings"));
        (key[0] == 'R' ? entry.repo_tags : entry.layers).push_back(s.get<std::string>());
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

// Gzip-compresses a stored blob into a new one, streaming (libarchive's raw format + gzip).
class GzipBlobWriter {
 public:
  static absl::StatusOr<Blob> Compress(content::Store& store, const Blob& in,
                                       const std::string& ref, const Labels& labels) {
    ASSIGN_OR_RETURN(std::unique_ptr<content::Writer> w, store.Writer(ref, 0, std::nullopt));
    GzipBlobWriter sink{w.get()};
    absl::Status st = sink.Run(store, in);
    if (st.ok()) {
      Blob out{.digest = w->Digest(), .size = w->Status().offset};
      st = w->Commit(out.size, out.digest, labels);
      if (st.ok() || absl::IsAlreadyExists(st)) return out;
    }
    w.reset();
    (void)store.Abort(ref);
    return st;
  }

 private:
  explicit GzipBlobWriter(content::Writer* w) : writer_(w) {}

  static la_ssize_t OnWrite(struct archive*, void* self, const void* buf, size_t n) {
    auto* me = static_cast<GzipBlobWriter*>(self);
    me->status_ = me->writer_->Write(absl::string_view(static_cast<const char*>(buf), n));
    return me->status_.ok() ? static_cast<la_ssize_t>(n) : -1;
  }

  absl::Status Run(content::Store& store, const Blob& in) {
    std::unique_ptr<struct archive, WriteArchiveFree> a(archive_write_new());
    std::unique_ptr<struct archive_entry, EntryFree> entry(archive_entry_new());
    if (!a || !entry) return absl::ResourceExhaustedError("libarchive: out of memory");
    if (archive_write_add_filter_gzip(a.get()) != ARCHIVE_OK ||
        archive_write_set_format_raw(a.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "set up gzip");
    }
    // No time stamp in the gzip header: the same layer always compresses to the same blob.
    (void)archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr);
    if (archive_write_open(a.get(), this, nullptr, &OnWrite, nullptr) != ARCHIVE_OK) {
      return status_.ok() ? ArchiveError(a.get(), "open gzip stream") : status_;
    }
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_size(entry.get(), in.size);
    if (archive_write_header(a.get(), entry.get()) != ARCHIVE_OK) {
      return status_.ok() ? ArchiveError(a.get(), "gzip header") : status_;
    }
    for (int64_t off = 0; off < in.size;) {
      ASSIGN_OR_RETURN(std::string chunk, store.ReadAt(in.digest, off, kChunk));
      if (chunk.empty())
        return ErrFailedPrecondition(absl::StrCat("blob ", in.digest.str(), " is short"));
      if (archive_write_data(a.get(), chunk.data(), chunk.size()) < 0) {
        return status_.ok() ? ArchiveError(a.get(), "gzip") : status_;
      }
      off += static_cast<int64_t>(chunk.size());
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return status_.ok() ? ArchiveError(a.get(), "gzip") : status_;
    }
    return status_;
  }

  content::Writer* writer_;
  absl::Status status_;
};

class Importer {
 public:
  Importer(content::Store& store, const ImportOptions& options)
      : store_(store), options_(options), nonce_(Nonce()) {}

  absl::StatusOr<ImportResult> Run(int fd) {
    std::unique_ptr<struct archive, ReadArchiveFree> a(archive_read_new());
    if (!a) return absl::ResourceExhaustedError("libarchive: out of memory");
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    // libarchive recognises the format while opening: garbage fails here.
    if (archive_read_open_fd(a.get(), fd, 64 << 10) != ARCHIVE_OK) {
      return ArchiveError(a.get(), "unrecognized image format");
    }
    RETURN_IF_ERROR(ReadMembers(a.get()));
    if (oci_layout_version_.has_value() && !oci_layout_version_->empty()) return FinishOci();
    if (docker_manifest_.has_value()) return FinishDocker();
    return ErrInvalidArgument("unrecognized image format: no oci-layout or manifest.json");
  }

 private:
  absl::Status ReadMembers(struct archive* a) {
    for (;;) {
      struct archive_entry* entry = nullptr;
      int r = archive_read_next_header(a, &entry);
      if (r == ARCHIVE_EOF) return absl::OkStatus();
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
        return ArchiveError(a, members_ == 0 ? "unrecognized image format" : "read archive");
      }
      ++members_;
      const char* raw = archive_entry_pathname(entry);
      ASSIGN_OR_RETURN(std::string name, CleanMemberName(raw != nullptr ? raw : ""));
      if (const char* hard = archive_entry_hardlink(entry); hard != nullptr) {
        // containerd ignores hard links; they alias a member stored before, so resolve them
        // like symlinks (relative to the archive root).
        ASSIGN_OR_RETURN(links_[name], CleanMemberName(hard));
        continue;
      }
      switch (archive_entry_filetype(entry)) {
        case AE_IFREG:
          RETURN_IF_ERROR(HandleFile(a, name, archive_entry_size(entry)));
          break;
        case AE_IFLNK: {
          // Old docker saves share a layer between images with <id>/layer.tar -> ../<id2>/...
          const char* target = archive_entry_symlink(entry);
          if (target == nullptr || target[0] == '/') {
            return ErrInvalidArgument(
                absl::StrCat("archive member \"", name, "\": symlink target must be relative"));
          }
          size_t slash = name.rfind('/');
          std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
          absl::StatusOr<std::string> resolved = CleanLexically(absl::StrCat(dir, target));
          if (!resolved.ok()) {
            return ErrInvalidArgument(absl::StrCat("archive member \"", name, "\": symlink to \"",
                                                   target, "\" leaves the archive"));
          }
          links_[name] = *std::move(resolved);
          break;
        }
        default:
          break;  // directories and anything else carry nothing for an image
      }
    }
  }

  // path.Clean of a relative path; InvalidArgument if it climbs above the root.
  static absl::StatusOr<std::string> CleanLexically(absl::string_view path) {
    std::vector<absl::string_view> out;
    for (absl::string_view part : absl::StrSplit(path, '/')) {
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (out.empty()) return ErrInvalidArgument("escapes");
        out.pop_back();
        continue;
      }
      out.push_back(part);
    }
    return absl::StrJoin(out, "/");
  }

  absl::Status HandleFile(struct archive* a, const std::string& name, int64_t size) {
    if (name == "oci-layout") {
      ASSIGN_OR_RETURN(std::string text, ReadSmall(a, name, size));
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      auto v = j.is_object() ? j.find("imageLayoutVersion") : j.end();
      if (j.is_discarded() || !j.is_object() ||
          (v != j.end() && !v->is_string() && !v->is_null())) {
        return ErrInvalidArgument("untar oci layout \"oci-layout\": malformed JSON");
      }
      oci_layout_version_ = (v == j.end() || v->is_null()) ? "" : v->get<std::string>();
      return absl::OkStatus();
    }
    if (name == "manifest.json") {
      ASSIGN_OR_RETURN(docker_manifest_, ReadSmall(a, name, size));
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(Blob blob, Ingest(a, name, size));
    blobs_.insert_or_assign(name, std::move(blob));
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadSmall(struct archive* a, const std::string& name, int64_t size) {
    if (size > kJsonLimit) {
      return ErrInvalidArgument(
          absl::StrCat("archive member \"", name, "\" is larger than ", kJsonLimit, " bytes"));
    }
    std::string out(static_cast<size_t>(size), '\0');
    size_t got = 0;
    while (got < out.size()) {
      la_ssize_t n = archive_read_data(a, out.data() + got, out.size() - got);
      if (n < 0) return ArchiveError(a, absl::StrCat("read archive member \"", name, "\""));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (got != out.size()) {
      return ErrInvalidArgument(absl::StrCat("read archive member \"", name, "\": truncated"));
    }
    return out;
  }

  // Streams the current member into the store. A member named blobs/<alg>/<hex> must have that
  // digest; if the store already has it, the data is skipped.
  absl::StatusOr<Blob> Ingest(struct archive* a, const std::string& name, int64_t size) {
    std::optional<berth::Digest> expected;
    std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
    if (parts.size() == 3 && parts[0] == "blobs") {
      absl::StatusOr<berth::Digest> d = berth::Digest::Parse(absl::StrCat(parts[1], ":", parts[2]));
      if (d.ok()) expected = *std::move(d);
    }
    auto member_error = [&name](absl::string_view what) {
      return ErrInvalidArgument(absl::StrCat("archive member \"", name, "\": ", what));
    };
    if (expected.has_value()) {
      absl::StatusOr<content::Info> have = store_.Info(*expected);
      if (have.ok()) {
        if (have->size != size) {
          return member_error(
              absl::StrCat("size ", size, " differs from the stored blob's ", have->size));
        }
        if (archive_read_data_skip(a) != ARCHIVE_OK) return ArchiveError(a, "read archive");
        return Blob{.digest = *expected, .size = size};
      }
      if (!absl::IsNotFound(have.status())) return have.status();
    }
    std::string ref = absl::StrCat("tar-", nonce_, "-", name);
    absl::StatusOr<std::unique_ptr<content::Writer>> w = store_.Writer(ref, size, expected);
    if (absl::IsAlreadyExists(w.status())) {  // committed meanwhile by someone else
      if (archive_read_data_skip(a) != ARCHIVE_OK) return ArchiveError(a, "read archive");
      return Blob{.digest = *expected, .size = size};
    }
    if (!w.ok()) return Annotate(w.status(), absl::StrCat("failed to ingest \"", name, "\""));
    absl::StatusOr<Blob> blob = Copy(a, name, size, **w, expected);
    absl::Status st = blob.status();
    if (st.ok()) {
      st = (*w)->Commit(size, blob->digest);
      if (absl::IsAlreadyExists(st)) st = absl::OkStatus();
    }
    if (!st.ok()) {
      w->reset();
      (void)store_.Abort(ref);  // nothing of a bad member stays behind
      return st;
    }
    return blob;
  }

  absl::StatusOr<Blob> Copy(struct archive* a, const std::string& name, int64_t size,
                            content::Writer& w, const std::optional<berth::Digest>& expected) {
    if (w.Status().offset > 0) RETURN_IF_ERROR(w.Truncate(0));
    std::string buf(kChunk, '\0');
    int64_t total = 0;
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
      if (n < 0) return ArchiveError(a, absl::StrCat("read archive member \"", name, "\""));
      if (n == 0) break;
      RETURN_IF_ERROR(w.Write(absl::string_view(buf.data(), static_cast<size_t>(n))));
      total += n;
    }
    if (total != size) {
      return ErrInvalidArgument(absl::StrCat("archive member \"", name, "\": truncated at ", total,
                                             " of ", size, " bytes"));
    }
    berth::Digest got = w.Digest();
    if (expected.has_value() && !(got == *expected)) {
      return ErrInvalidArgument(
          absl::StrCat("archive member \"", name, "\": digest mismatch: content is ", got.str()));
    }
    return Blob{.digest = std::move(got), .size = size};
  }

  // --- OCI layout --------------------------------------------------------------------------------

  absl::StatusOr<ImportResult> FinishOci() {
    if (*oci_layout_version_ != kOciLayoutVersion) {
      return ErrInvalidArgument(absl::StrCat("unsupported OCI version ", *oci_layout_version_));
    }
    auto it = blobs_.find("index.json");
    if (it == blobs_.end()) {
      return ErrInvalidArgument(
          absl::StrCat("missing index.json in OCI layout ", kOciLayoutVersion));
    }
    Descriptor index_desc{
        .media_type = kMediaTypeOciIndex, .digest = it->second.digest, .size = it->second.size};
    ASSIGN_OR_RETURN(std::string text, ReadDocument(store_, index_desc));
    ASSIGN_OR_RETURN(Index index, ParseIndex(text, "index.json"));
    for (const Descriptor& m : index.manifests) {
      ASSIGN_OR_RETURN(bool present, CheckPresent(m, "index.json", /*may_be_missing=*/false));
      (void)present;
      RETURN_IF_ERROR(Validate(m));
    }
    return Result(std::move(index_desc), index.manifests);
  }

  // Whether `desc`, listed by `parent`, is in the store with its size. InvalidArgument if it is
  // missing and must not be, or has another size.
  absl::StatusOr<bool> CheckPresent(const Descriptor& desc, absl::string_view parent,
                                    bool may_be_missing) {
    absl::StatusOr<content::Info> info = store_.Info(desc.digest);
    if (absl::IsNotFound(info.status())) {
      if (may_be_missing) return false;
      return ErrInvalidArgument(absl::StrCat(parent, " references ", desc.digest.str(), " (",
                                             desc.media_type, "), which is not in the archive"));
    }
    if (!info.ok()) return info.status();
    if (info->size != desc.size) {
      return ErrInvalidArgument(absl::StrCat(parent, " references ", desc.digest.str(),
                                             " with size ", desc.size, ", but the blob has ",
                                             info->size, " bytes"));
    }
    return true;
  }

  // Parses the manifests and indexes under `desc` (present in the store) and checks what they
  // reference.
  absl::Status Validate(const Descriptor& desc) {
    if (!validated_.insert(desc.digest.str()).second) return absl::OkStatus();
    if (!IsManifest(desc.media_type) && !IsIndex(desc.media_type)) return absl::OkStatus();
    ASSIGN_OR_RETURN(std::vector<Descriptor> children, Children(store_, desc));
    bool index = IsIndex(desc.media_type);
    std::string parent = absl::StrCat(index ? "index " : "manifest ", desc.digest.str());
    for (const Descriptor& child : children) {
      bool may_be_missing = index || IsNonDistributable(child.media_type);
      ASSIGN_OR_RETURN(bool present, CheckPresent(child, parent, may_be_missing));
      if (present && index) RETURN_IF_ERROR(Validate(child));
    }
    return absl::OkStatus();
  }

  // --- docker-archive ----------------------------------------------------------------------------

  absl::StatusOr<ImportResult> FinishDocker() {
    ASSIGN_OR_RETURN(std::vector<DockerEntry> entries, ParseDockerManifest(*docker_manifest_));
    if (entries.empty()) return ErrInvalidArgument("invalid manifest.json: no images");
    for (const auto& [name, target] : links_) {
      auto it = blobs_.find(target);
      if (it == blobs_.end()) {
        return ErrInvalidArgument(
            absl::StrCat("no target for symlink layer from \"", name, "\" to \"", target, "\""));
      }
      blobs_.insert_or_assign(name, it->second);
    }
    Index index;
    for (const DockerEntry& entry : entries) {
      ASSIGN_OR_RETURN(Descriptor desc, WriteDockerManifest(entry));
      if (entry.repo_tags.empty()) {
        index.manifests.push_back(desc);
        continue;
      }
      for (const std::string& tag : entry.repo_tags) {
        ASSIGN_OR_RETURN(std::string normalized, NormalizeReference(tag));
        Descriptor named = desc;
        named.annotations[kAnnotationImageName] = normalized;
        named.annotations[kAnnotationRefName] = OciReferenceName(normalized);
        index.manifests.push_back(std::move(named));
      }
    }
    ASSIGN_OR_RETURN(Descriptor index_desc, WriteDocument(MarshalIndex(index), kMediaTypeOciIndex));
    return Result(std::move(index_desc), index.manifests);
  }

  absl::StatusOr<const Blob*> Member(absl::string_view what, const std::string& path) {
    absl::StatusOr<std::string> name = CleanMemberName(path);
    auto it = name.ok() ? blobs_.find(*name) : blobs_.end();
    if (it == blobs_.end()) {
      return ErrInvalidArgument(absl::StrCat(what, " \"", path, "\" not found"));
    }
    return &it->second;
  }

  absl::StatusOr<Descriptor> WriteDockerManifest(const DockerEntry& entry) {
    ASSIGN_OR_RETURN(const Blob* config, Member("image config", entry.config));
    Manifest m{
        .media_type = kMediaTypeDockerManifest,
        .config = Descriptor{
            .media_type = kMediaTypeDockerConfig, .digest = config->digest, .size = config->size}};
    ASSIGN_OR_RETURN(m.layers, ResolveLayers(entry.layers));
    ASSIGN_OR_RETURN(ImageConfig image, ReadConfig(store_, m.config));
    Platform platform;
    platform.os = image.os;
    platform.architecture = image.architecture;
    ASSIGN_OR_RETURN(Descriptor desc, WriteDocument(MarshalManifest(m), kMediaTypeDockerManifest));
    desc.platform = NormalizePlatform(std::move(platform));
    return desc;
  }

  absl::StatusOr<std::vector<Descriptor>> ResolveLayers(const std::vector<std::string>& paths) {
    std::vector<Descriptor> layers;
    std::vector<std::string> filters;
    for (const std::string& path : paths) {
      ASSIGN_OR_RETURN(const Blob* blob, Member("layer", path));
      layers.push_back(Descriptor{.digest = blob->digest, .size = blob->size});
      filters.push_back(absl::StrCat("labels.\"", kLabelUncompressed, "\"==", blob->digest.str()));
    }
    // A compressed form of a layer already in the store (from a pull, or an import with
    // compression) is used instead, as containerd does.
    if (!filters.empty()) {
      RETURN_IF_ERROR(store_.Walk(
          [&](const content::Info& info) {
            auto it = info.labels.find(kLabelUncompressed);
            if (it == info.labels.end()) return absl::OkStatus();
            for (Descriptor& l : layers) {
              if (l.media_type.empty() && l.digest.str() == it->second) {
                l.digest = info.digest;
                l.size = info.size;
              }
            }
            return absl::OkStatus();
          },
          filters));
    }
    for (size_t i = 0; i < layers.size(); ++i) {
      Descriptor& l = layers[i];
      ASSIGN_OR_RETURN(std::string head, store_.ReadAt(l.digest, 0, 10));
      if (DetectCompression(head) != Compression::kNone) {
        l.media_type = kMediaTypeDockerLayerGzip;  // containerd 1.6 says gzip for zstd too
      } else if (options_.compress_layers && !head.empty()) {
        std::string ref =
            absl::StrCat("compress-blob-", nonce_, "-", l.digest.algorithm(), "-", l.digest.hex());
        ASSIGN_OR_RETURN(
            Blob gz, GzipBlobWriter::Compress(store_, Blob{.digest = l.digest, .size = l.size}, ref,
                                              {{kLabelUncompressed, l.digest.str()}}));
        l = Descriptor{
            .media_type = kMediaTypeDockerLayerGzip, .digest = gz.digest, .size = gz.size};
      } else {
        l.media_type = kMediaTypeDockerLayer;
      }
    }
    return layers;
  }

  // Stores a document berth made (manifest or index) and describes it.
  absl::StatusOr<Descriptor> WriteDocument(const std::string& data, absl::string_view media_type) {
    berth::Digest digest = content::Digester::FromBytes(data);
    Descriptor desc{.media_type = std::string(media_type),
                    .digest = digest,
                    .size = static_cast<int64_t>(data.size())};
    std::string ref = absl::StrCat("manifest-", nonce_, "-", digest.str());
    absl::StatusOr<std::unique_ptr<content::Writer>> w = store_.Writer(ref, desc.size, digest);
    if (absl::IsAlreadyExists(w.status())) return desc;
    if (!w.ok()) return w.status();
    absl::Status st = (*w)->Truncate(0);
    if (st.ok()) st = (*w)->Write(data);
    if (st.ok()) st = (*w)->Commit(desc.size, digest);
    if (st.ok() || absl::IsAlreadyExists(st)) return desc;
    w->reset();
    (void)store_.Abort(ref);
    return st;
  }

  // --- result ------------------------------------------------------------------------------------

  ImportResult Result(Descriptor index, const std::vector<Descriptor>& manifests) {
    ImportResult result{.index = std::move(index), .images = {}};
    for (const Descriptor& m : manifests) {
      std::string name;
      if (auto it = m.annotations.find(kAnnotationImageName); it != m.annotations.end()) {
        name = it->second;
      }
      if (name.empty()) {
        if (auto it = m.annotations.find(kAnnotationRefName); it != m.annotations.end()) {
          name = it->second;
          if (!name.empty() && options_.ref_translator) name = options_.ref_translator(name);
        }
      }
      result.images.push_back(ImportedImage{.name = std::move(name), .target = m});
    }
    return result;
  }

  content::Store& store_;
  const ImportOptions& options_;
  const std::string nonce_;
  int64_t members_ = 0;
  std::optional<std::string> oci_layout_version_;
  std::optional<std::string> docker_manifest_;
  std::map<std::string, Blob> blobs_;         // member name -> stored blob
  std::map<std::string, std::string> links_;  // member name -> member it points to
  std::set<std::string> validated_;           // digests already validated
};

}  // namespace

absl::StatusOr<ImportResult> ImportArchive(int input_fd, content::Store& store,
                                           const ImportOptions& options) {
  return Importer(store, options).Run(input_fd);
}

}  // namespace berth::images
