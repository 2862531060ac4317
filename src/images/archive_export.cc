#include "images/archive_export.h"

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "content/digester.h"
#include "images/reference.h"
#include "images/walk.h"

namespace berth::images {
namespace {

constexpr size_t kChunk = 1 << 20;

struct WriteArchiveFree {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};

// One member of the archive: a directory, a small file held in memory, or a blob streamed from
// the store.
struct Record {
  std::string name;
  mode_t type;  // AE_IFDIR or AE_IFREG
  mode_t perm;
  std::string data;
  std::optional<Descriptor> blob;

  int64_t Size() const {
    if (type == AE_IFDIR) return 0;
    return blob.has_value() ? blob->size : static_cast<int64_t>(data.size());
  }
};

std::string BlobPath(const berth::Digest& d) {
  return absl::StrCat("blobs/", d.algorithm(), "/", d.hex());
}

// A manifest that manifest.json describes, with the names that resolve to it.
struct DockerManifest {
  Descriptor manifest;
  std::vector<std::string> names;
};

class Exporter {
 public:
  Exporter(content::Store& store, const ExportOptions& options)
      : store_(store), options_(options) {}

  absl::Status Run(std::span<const ExportImage> images, int fd) {
    if (images.empty()) return ErrInvalidArgument("no images to export");
    std::vector<Descriptor> targets;
    for (const ExportImage& image : images) {
      Descriptor d = image.target;
      if (!image.name.empty()) {
        d.annotations[kAnnotationImageName] = image.name;
        d.annotations[kAnnotationRefName] = OciReferenceName(image.name);
      }
      targets.push_back(std::move(d));
    }
    records_.push_back(File("oci-layout", 0444, R"({"imageLayoutVersion":"1.0.0"})"));
    records_.push_back(
        File("index.json", 0644, MarshalIndex(Index{.schema_version = 2, .manifests = targets})));
    for (const Descriptor& d : targets) RETURN_IF_ERROR(AddTarget(d));
    if (!docker_order_.empty() && !options_.skip_docker_manifest) {
      ASSIGN_OR_RETURN(std::string json, DockerManifestJson());
      records_.push_back(File("manifest.json", 0644, std::move(json)));
    }
    if (!algorithms_.empty()) {
      records_.push_back(Record{.name = "blobs/", .type = AE_IFDIR, .perm = 0755});
      for (const std::string& alg : algorithms_) {
        records_.push_back(
            Record{.name = absl::StrCat("blobs/", alg, "/"), .type = AE_IFDIR, .perm = 0755});
      }
    }
    std::stable_sort(records_.begin(), records_.end(),
                     [](const Record& a, const Record& b) { return a.name < b.name; });
    records_.erase(std::unique(records_.begin(), records_.end(),
                               [](const Record& a, const Record& b) { return a.name == b.name; }),
                   records_.end());
    RETURN_IF_ERROR(CheckBlobs());
    return WriteTar(fd);
  }

 private:
  static Record File(std::string name, mode_t perm, std::string data) {
    return Record{.name = std::move(name), .type = AE_IFREG, .perm = perm, .data = std::move(data)};
  }

  absl::Status AddTarget(const Descriptor& desc) {
    if (IsManifest(desc.media_type)) {
      if (!docker_.contains(desc.digest.str())) {
        RETURN_IF_ERROR(AddTree(desc));
        AddDockerManifest(desc);
      }
      auto name = desc.annotations.find(kAnnotationImageName);
      if (name != desc.annotations.end() && !name->second.empty() &&
          !options_.skip_docker_manifest) {
        docker_.at(desc.digest.str()).names.push_back(name->second);
      }
      return absl::OkStatus();
    }
    if (!IsIndex(desc.media_type)) {
      return ErrInvalidArgument(absl::StrCat("only manifests may be exported: ", desc.media_type,
                                             " ", desc.digest.str()));
    }
    auto resolved = resolved_index_.find(desc.digest.str());
    if (resolved == resolved_index_.end()) {
      AddBlob(desc);
      ASSIGN_OR_RETURN(std::string blob, ReadDocument(store_, desc));
      ASSIGN_OR_RETURN(Index index, ParseIndex(blob, desc.digest.str()));
      std::vector<Descriptor> selected;
      for (const Descriptor& m : index.manifests) {
        if (options_.platform.has_value()) {
          if (!m.platform.has_value() || options_.platform->Match(*m.platform)) {
            selected.push_back(m);
          } else if (!options_.all_platforms) {
            continue;
          }
        }
        RETURN_IF_ERROR(AddTree(m));
      }
      std::string chosen;
      if (!options_.skip_docker_manifest) {
        if (!selected.empty()) {
          const Matcher& matcher = *options_.platform;
          std::stable_sort(selected.begin(), selected.end(),
                           [&](const Descriptor& a, const Descriptor& b) {
                             if (!a.platform.has_value()) return false;
                             if (!b.platform.has_value()) return true;
                             return matcher.Less(*a.platform, *b.platform);
                           });
          chosen = selected.front().digest.str();
          if (!docker_.contains(chosen)) AddDockerManifest(selected.front());
        } else if (options_.platform.has_value()) {
          return ErrNotFound(absl::StrCat("no manifest found for platform ",
                                          options_.platform->String(), " in ", desc.digest.str()));
        }
      }
      resolved = resolved_index_.emplace(desc.digest.str(), chosen).first;
    }
    if (!resolved->second.empty()) {
      auto name = desc.annotations.find(kAnnotationImageName);
      if (name != desc.annotations.end() && !name->second.empty()) {
        docker_.at(resolved->second).names.push_back(name->second);
      }
    }
    return absl::OkStatus();
  }

  void AddDockerManifest(const Descriptor& manifest) {
    docker_.emplace(manifest.digest.str(), DockerManifest{.manifest = manifest, .names = {}});
    docker_order_.push_back(manifest.digest.str());
  }

  void AddBlob(const Descriptor& desc) {
    if (options_.skip_non_distributable && IsNonDistributable(desc.media_type)) return;
    algorithms_.insert(std::string(desc.digest.algorithm()));
    records_.push_back(
        Record{.name = BlobPath(desc.digest), .type = AE_IFREG, .perm = 0444, .blob = desc});
  }

  // `desc` and everything below it, whatever the platform (containerd's getRecords).
  absl::Status AddTree(const Descriptor& desc) {
    AddBlob(desc);
    ASSIGN_OR_RETURN(std::vector<Descriptor> children, Children(store_, desc));
    for (const Descriptor& child : children) RETURN_IF_ERROR(AddTree(child));
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> DockerManifestJson() {
    std::string out = "[";
    for (size_t i = 0; i < docker_order_.size(); ++i) {
      const DockerManifest& dm = docker_.at(docker_order_[i]);
      ASSIGN_OR_RETURN(std::string blob, ReadDocument(store_, dm.manifest));
      ASSIGN_OR_RETURN(Manifest m, ParseManifest(blob, dm.manifest.digest.str()));
      if (i > 0) out += ',';
      absl::StrAppend(&out, "{\"Config\":", GoJsonQuote(BlobPath(m.config.digest)),
                      ",\"RepoTags\":");
      // Go writes a nil slice as null.
      if (dm.names.empty()) out += "null";
      for (size_t n = 0; n < dm.names.size(); ++n) {
        ASSIGN_OR_RETURN(std::string familiar, FamiliarizeReference(dm.names[n]));
        absl::StrAppend(&out, n == 0 ? "[" : ",", GoJsonQuote(familiar));
      }
      if (!dm.names.empty()) out += ']';
      out += ",\"Layers\":";
      if (m.layers.empty()) out += "null";
      for (size_t l = 0; l < m.layers.size(); ++l) {
        absl::StrAppend(&out, l == 0 ? "[" : ",", GoJsonQuote(BlobPath(m.layers[l].digest)));
      }
      if (!m.layers.empty()) out += ']';
      out += '}';
    }
    out += ']';
    return out;
  }

  // Every blob must be there with its size before anything is written.
  absl::Status CheckBlobs() {
    for (const Record& r : records_) {
      if (!r.blob.has_value()) continue;
      ASSIGN_OR_RETURN(content::Info info, store_.Info(r.blob->digest));
      if (info.size != r.blob->size) {
        return ErrInvalidArgument(absl::StrCat("blob ", r.blob->digest.str(), " has ", info.size,
                                               " bytes, its descriptor says ", r.blob->size));
      }
    }
    return absl::OkStatus();
  }

  static absl::Status WriteError(struct archive* a, absl::string_view what) {
    const char* msg = archive_error_string(a);
    std::string text =
        absl::StrCat("write archive: ", what, ": ", msg != nullptr ? msg : "unknown error");
    int err = archive_errno(a);
    if (err > 0) return ErrnoError(err, text);
    return absl::InternalError(text);
  }

  absl::Status WriteTar(int fd) {
    std::unique_ptr<struct archive, WriteArchiveFree> a(archive_write_new());
    if (!a) return absl::ResourceExhaustedError("libarchive: out of memory");
    // ustar unless a member needs pax; written in 64 KiB blocks, the last one not padded
    // (the archive ends with the two zero blocks, as Go's writer ends it).
    if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a.get(), 64 << 10) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a.get(), 1) != ARCHIVE_OK ||
        archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
      return WriteError(a.get(), "open");
    }
    for (const Record& r : records_) RETURN_IF_ERROR(WriteRecord(a.get(), r));
    if (archive_write_close(a.get()) != ARCHIVE_OK) return WriteError(a.get(), "close");
    return absl::OkStatus();
  }

  absl::Status WriteRecord(struct archive* a, const Record& r) {
    std::unique_ptr<struct archive_entry, EntryFree> entry(archive_entry_new());
    if (!entry) return absl::ResourceExhaustedError("libarchive: out of memory");
    archive_entry_set_pathname(entry.get(), r.name.c_str());
    archive_entry_set_filetype(entry.get(), r.type);
    archive_entry_set_perm(entry.get(), r.perm);
    archive_entry_set_size(entry.get(), r.Size());
    archive_entry_set_mtime(entry.get(), 0, 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    if (archive_write_header(a, entry.get()) != ARCHIVE_OK) return WriteError(a, r.name);
    if (r.type == AE_IFDIR) return absl::OkStatus();
    if (!r.blob.has_value()) {
      if (archive_write_data(a, r.data.data(), r.data.size()) !=
          static_cast<la_ssize_t>(r.data.size())) {
        return WriteError(a, r.name);
      }
      return absl::OkStatus();
    }
    const Descriptor& d = *r.blob;
    content::Digester digester;
    int64_t off = 0;
    while (off < d.size) {
      size_t want = static_cast<size_t>(std::min<int64_t>(kChunk, d.size - off));
      ASSIGN_OR_RETURN(std::string chunk, store_.ReadAt(d.digest, off, want));
      if (chunk.empty()) {
        return ErrFailedPrecondition(
            absl::StrCat("blob ", d.digest.str(), " ended at ", off, " of ", d.size, " bytes"));
      }
      digester.Update(chunk);
      if (archive_write_data(a, chunk.data(), chunk.size()) !=
          static_cast<la_ssize_t>(chunk.size())) {
        return WriteError(a, r.name);
      }
      off += static_cast<int64_t>(chunk.size());
    }
    if (d.digest.algorithm() == "sha256" && !(digester.Current() == d.digest)) {
      return ErrFailedPrecondition(absl::StrCat("blob ", d.digest.str(), ": unexpected digest ",
                                                digester.Current().str(), " copied"));
    }
    return absl::OkStatus();
  }

  content::Store& store_;
  const ExportOptions& options_;
  std::vector<Record> records_;
  std::set<std::string> algorithms_;
  std::map<std::string, DockerManifest> docker_;       // manifest digest -> names
  std::vector<std::string> docker_order_;              // manifest.json order
  std::map<std::string, std::string> resolved_index_;  // index digest -> chosen manifest or ""
};

}  // namespace

absl::Status ExportArchive(content::Store& store, std::span<const ExportImage> images,
                           int output_fd, const ExportOptions& options) {
  return Exporter(store, options).Run(images, output_fd);
}

}  // namespace berth::images
