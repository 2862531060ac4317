#include "images/types.h"

#include <algorithm>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "nlohmann/json.hpp"

namespace berth::images {
namespace {

using Json = nlohmann::json;

// --- media types ---------------------------------------------------------------------------------

// Splits "base+ext1+ext2" into the base and its sorted extensions (containerd's parseMediaTypes).
std::pair<absl::string_view, std::vector<absl::string_view>> SplitMediaType(absl::string_view mt) {
  std::vector<absl::string_view> parts = absl::StrSplit(mt, '+');
  absl::string_view base = parts[0];
  std::vector<absl::string_view> ext(parts.begin() + 1, parts.end());
  std::sort(ext.begin(), ext.end());
  return {base, ext};
}

// --- parsing -------------------------------------------------------------------------------------

// Where an error is: the document's kind and name, and the path to the field.
class Context {
 public:
  Context(absl::string_view kind, absl::string_view name) : kind_(kind), name_(name) {}

  absl::Status Error(absl::string_view path, absl::string_view what) const {
    if (path.empty())
      return ErrInvalidArgument(absl::StrCat("invalid ", kind_, " ", name_, ": ", what));
    return ErrInvalidArgument(absl::StrCat("invalid ", kind_, " ", name_, ": ", path, ": ", what));
  }

 private:
  absl::string_view kind_, name_;
};

std::string Join(absl::string_view path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

// The member `key` of `obj`, or nullptr if absent or null (Go's decoder leaves the zero value).
const Json* Member(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

absl::StatusOr<std::string> GetString(const Context& ctx, const Json& obj, const char* key,
                                      absl::string_view path, bool required) {
  const Json* v = Member(obj, key);
  if (v == nullptr) {
    if (required) return ctx.Error(Join(path, key), "missing");
    return std::string();
  }
  if (!v->is_string()) return ctx.Error(Join(path, key), "expected a string");
  return v->get_ref<const std::string&>();
}

absl::StatusOr<int64_t> GetInt64(const Context& ctx, const Json& obj, const char* key,
                                 absl::string_view path) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return ctx.Error(Join(path, key), "missing");
  if (v->is_number_unsigned()) {
    uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return ctx.Error(Join(path, key), "out of range");
    }
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) return ctx.Error(Join(path, key), "expected an integer");
  return v->get<int64_t>();
}

absl::StatusOr<std::vector<std::string>> GetStringArray(const Context& ctx, const Json& obj,
                                                        const char* key, absl::string_view path) {
  std::vector<std::string> out;
  const Json* v = Member(obj, key);
  if (v == nullptr) return out;
  if (!v->is_array()) return ctx.Error(Join(path, key), "expected an array of strings");
  for (const Json& e : *v) {
    if (!e.is_string()) return ctx.Error(Join(path, key), "expected an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

absl::StatusOr<Annotations> GetStringMap(const Context& ctx, const Json& obj, const char* key,
                                         absl::string_view path) {
  Annotations out;
  const Json* v = Member(obj, key);
  if (v == nullptr) return out;
  if (!v->is_object()) return ctx.Error(Join(path, key), "expected an object of strings");
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it->is_string()) {
      return ctx.Error(absl::StrCat(Join(path, key), ".", it.key()), "expected a string");
    }
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

absl::StatusOr<berth::Digest> GetDigest(const Context& ctx, const Json& obj, const char* key,
                                        absl::string_view path) {
  ASSIGN_OR_RETURN(std::string text, GetString(ctx, obj, key, path, /*required=*/true));
  absl::StatusOr<berth::Digest> d = berth::Digest::Parse(text);
  if (!d.ok()) return ctx.Error(Join(path, key), d.status().message());
  return *std::move(d);
}

absl::StatusOr<Platform> ParsePlatformObject(const Context& ctx, const Json& j,
                                             absl::string_view path) {
  if (!j.is_object()) return ctx.Error(path, "expected an object");
  Platform p;
  ASSIGN_OR_RETURN(p.architecture, GetString(ctx, j, "architecture", path, false));
  ASSIGN_OR_RETURN(p.os, GetString(ctx, j, "os", path, false));
  ASSIGN_OR_RETURN(p.os_version, GetString(ctx, j, "os.version", path, false));
  ASSIGN_OR_RETURN(p.os_features, GetStringArray(ctx, j, "os.features", path));
  ASSIGN_OR_RETURN(p.variant, GetString(ctx, j, "variant", path, false));
  return p;
}

// `require_media_type`: the OCI spec requires it on every descriptor; only a standalone
// descriptor (ParseDescriptor) is lenient, as containerd's importer creates some without one.
absl::StatusOr<Descriptor> ParseDescriptorObject(const Context& ctx, const Json& j,
                                                 absl::string_view path, bool require_media_type) {
  if (!j.is_object()) return ctx.Error(path, "expected a descriptor object");
  ASSIGN_OR_RETURN(std::string media_type,
                   GetString(ctx, j, "mediaType", path, require_media_type));
  if (require_media_type && media_type.empty()) {
    return ctx.Error(Join(path, "mediaType"), "empty");
  }
  ASSIGN_OR_RETURN(berth::Digest digest, GetDigest(ctx, j, "digest", path));
  Descriptor d{.media_type = std::move(media_type), .digest = std::move(digest)};
  ASSIGN_OR_RETURN(d.size, GetInt64(ctx, j, "size", path));
  if (d.size < 0) return ctx.Error(Join(path, "size"), absl::StrCat("negative size ", d.size));
  ASSIGN_OR_RETURN(d.urls, GetStringArray(ctx, j, "urls", path));
  ASSIGN_OR_RETURN(d.annotations, GetStringMap(ctx, j, "annotations", path));
  if (const Json* p = Member(j, "platform"); p != nullptr) {
    ASSIGN_OR_RETURN(d.platform, ParsePlatformObject(ctx, *p, Join(path, "platform")));
  }
  return d;
}

absl::StatusOr<std::vector<Descriptor>> GetDescriptorArray(const Context& ctx, const Json& obj,
                                                           const char* key) {
  const Json* v = Member(obj, key);
  if (v == nullptr) return ctx.Error(key, "missing");
  if (!v->is_array()) return ctx.Error(key, "expected an array of descriptors");
  std::vector<Descriptor> out;
  out.reserve(v->size());
  for (size_t i = 0; i < v->size(); ++i) {
    ASSIGN_OR_RETURN(Descriptor d,
                     ParseDescriptorObject(ctx, (*v)[i], absl::StrCat(key, "[", i, "]"), true));
    out.push_back(std::move(d));
  }
  return out;
}

// Parses `text` as a JSON object; the one place where the JSON parser runs (without exceptions).
absl::StatusOr<Json> ParseObject(const Context& ctx, absl::string_view text) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return ctx.Error("", "malformed JSON");
  if (!j.is_object()) return ctx.Error("", "expected a JSON object");
  return j;
}

absl::Status CheckSchemaVersion(const Context& ctx, const Json& j) {
  ASSIGN_OR_RETURN(int64_t v, GetInt64(ctx, j, "schemaVersion", ""));
  if (v != 2) return ctx.Error("schemaVersion", absl::StrCat("unsupported version ", v));
  return absl::OkStatus();
}

// --- marshalling ---------------------------------------------------------------------------------

// Builds one JSON object with Go's comma placement.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  ~ObjectWriter() { out_ += '}'; }
  std::string& Key(absl::string_view key) {
    if (!first_) out_ += ',';
    first_ = false;
    out_ += GoJsonQuote(key);
    out_ += ':';
    return out_;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

void PutStringArray(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    out += GoJsonQuote(v[i]);
  }
  out += ']';
}

// Go writes map keys sorted, which is std::map's order.
void PutStringMap(std::string& out, const Annotations& m) {
  ObjectWriter w(out);
  for (const auto& [k, v] : m) w.Key(k) += GoJsonQuote(v);
}

void PutPlatform(std::string& out, const Platform& p) {
  ObjectWriter w(out);
  w.Key("architecture") += GoJsonQuote(p.architecture);
  w.Key("os") += GoJsonQuote(p.os);
  if (!p.os_version.empty()) w.Key("os.version") += GoJsonQuote(p.os_version);
  if (!p.os_features.empty()) PutStringArray(w.Key("os.features"), p.os_features);
  if (!p.variant.empty()) w.Key("variant") += GoJsonQuote(p.variant);
}

void PutDescriptor(std::string& out, const Descriptor& d) {
  ObjectWriter w(out);
  if (!d.media_type.empty()) w.Key("mediaType") += GoJsonQuote(d.media_type);
  w.Key("digest") += GoJsonQuote(d.digest.str());
  absl::StrAppend(&w.Key("size"), d.size);
  if (!d.urls.empty()) PutStringArray(w.Key("urls"), d.urls);
  if (!d.annotations.empty()) PutStringMap(w.Key("annotations"), d.annotations);
  if (d.platform.has_value()) PutPlatform(w.Key("platform"), *d.platform);
}

void PutDescriptorArray(std::string& out, const std::vector<Descriptor>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out += ',';
    PutDescriptor(out, v[i]);
  }
  out += ']';
}

// Decodes one UTF-8 sequence at s[i] as Go's utf8.DecodeRuneInString: returns its length, or 0
// for an invalid sequence (overlong forms, surrogates and code points past U+10FFFF included).
size_t Utf8Length(absl::string_view s, size_t i, uint32_t* rune) {
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (at(k) & 0xC0) == 0x80; };
  unsigned char c = at(0);
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    *rune = ((c & 0x1Fu) << 6) | (at(1) & 0x3Fu);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    uint32_t r = ((c & 0x0Fu) << 12) | ((at(1) & 0x3Fu) << 6) | (at(2) & 0x3Fu);
    if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF)) return 0;
    *rune = r;
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    uint32_t r =
        ((c & 0x07u) << 18) | ((at(1) & 0x3Fu) << 12) | ((at(2) & 0x3Fu) << 6) | (at(3) & 0x3Fu);
    if (r < 0x10000 || r > 0x10FFFF) return 0;
    *rune = r;
    return 4;
  }
  return 0;
}

}  // namespace

bool IsManifest(absl::string_view mt) {
  return mt == kMediaTypeDockerManifest || mt == kMediaTypeOciManifest;
}

bool IsIndex(absl::string_view mt) {
  return mt == kMediaTypeOciIndex || mt == kMediaTypeDockerManifestList;
}

bool IsLayer(absl::string_view mt) {
  if (absl::StartsWith(mt, "application/vnd.oci.image.layer.")) return true;
  absl::string_view base = SplitMediaType(mt).first;
  return base == kMediaTypeDockerLayer || base == kMediaTypeDockerLayerGzip ||
         base == kMediaTypeDockerLayerForeign || base == kMediaTypeDockerLayerForeignGzip;
}

bool IsConfig(absl::string_view mt) {
  return mt == kMediaTypeDockerConfig || mt == kMediaTypeOciConfig;
}

bool IsKnownConfig(absl::string_view mt) {
  return IsConfig(mt) || mt == kMediaTypeContainerdCheckpoint ||
         mt == kMediaTypeContainerdCheckpointConfig;
}

bool IsNonDistributable(absl::string_view mt) {
  return absl::StartsWith(mt, "application/vnd.oci.image.layer.nondistributable.") ||
         absl::StartsWith(mt, "application/vnd.docker.image.rootfs.foreign.");
}

absl::StatusOr<Compression> LayerCompression(absl::string_view mt) {
  auto [base, ext] = SplitMediaType(mt);
  if (base == kMediaTypeDockerLayer || base == kMediaTypeDockerLayerForeign) {
    return ext.empty() ? Compression::kUnknown : Compression::kNone;
  }
  if (base == kMediaTypeDockerLayerGzip || base == kMediaTypeDockerLayerForeignGzip) {
    return ext.empty() ? Compression::kGzip : Compression::kNone;
  }
  if (base == kMediaTypeOciLayer || base == kMediaTypeOciLayerNonDistributable) {
    // As containerd: the last of the sorted extensions decides ("+gzip+encrypted" is gzip).
    if (!ext.empty() && ext.back() == "gzip") return Compression::kGzip;
    if (!ext.empty() && ext.back() == "zstd") return Compression::kZstd;
    return Compression::kNone;
  }
  return ErrNotImplemented(absl::StrCat("unrecognised mediatype ", mt));
}

Compression DetectCompression(absl::string_view head) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(head[i]); };
  if (head.size() >= 3 && byte(0) == 0x1f && byte(1) == 0x8b && byte(2) == 0x08) {
    return Compression::kGzip;
  }
  if (head.size() >= 4 && byte(1) == 0xb5 && byte(2) == 0x2f && byte(3) == 0xfd &&
      byte(0) == 0x28) {
    return Compression::kZstd;
  }
  // A zstd skippable frame: magic 0x184D2A5? little-endian.
  if (head.size() >= 4 && (byte(0) & 0xF0) == 0x50 && byte(1) == 0x2a && byte(2) == 0x4d &&
      byte(3) == 0x18) {
    return Compression::kZstd;
  }
  return Compression::kNone;
}

absl::StatusOr<Descriptor> ParseDescriptor(absl::string_view json, absl::string_view name) {
  Context ctx("descriptor", name);
  ASSIGN_OR_RETURN(Json j, ParseObject(ctx, json));
  return ParseDescriptorObject(ctx, j, "", /*require_media_type=*/false);
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view json, absl::string_view name) {
  Context ctx("manifest", name);
  ASSIGN_OR_RETURN(Json j, ParseObject(ctx, json));
  if (j.contains("fsLayers")) return ctx.Error("", "schema 1 manifests are not supported");
  ASSIGN_OR_RETURN(std::string media_type, GetString(ctx, j, "mediaType", "", false));
  if (j.contains("manifests") || IsIndex(media_type)) {
    return ctx.Error("", "expected a manifest but found an index");
  }
  if (!media_type.empty() && !IsManifest(media_type)) {
    return ctx.Error("mediaType", absl::StrCat("not a manifest type: ", media_type));
  }
  RETURN_IF_ERROR(CheckSchemaVersion(ctx, j));
  const Json* config = Member(j, "config");
  if (config == nullptr) return ctx.Error("config", "missing");
  ASSIGN_OR_RETURN(Descriptor config_desc, ParseDescriptorObject(ctx, *config, "config", true));
  Manifest m{.media_type = std::move(media_type), .config = std::move(config_desc)};
  ASSIGN_OR_RETURN(m.layers, GetDescriptorArray(ctx, j, "layers"));
  ASSIGN_OR_RETURN(m.annotations, GetStringMap(ctx, j, "annotations", ""));
  return m;
}

absl::StatusOr<Index> ParseIndex(absl::string_view json, absl::string_view name) {
  Context ctx("index", name);
  ASSIGN_OR_RETURN(Json j, ParseObject(ctx, json));
  if (j.contains("fsLayers")) return ctx.Error("", "schema 1 manifests are not supported");
  ASSIGN_OR_RETURN(std::string media_type, GetString(ctx, j, "mediaType", "", false));
  if (j.contains("config") || j.contains("layers") || IsManifest(media_type)) {
    return ctx.Error("", "expected an index but found a manifest");
  }
  if (!media_type.empty() && !IsIndex(media_type)) {
    return ctx.Error("mediaType", absl::StrCat("not an index type: ", media_type));
  }
  RETURN_IF_ERROR(CheckSchemaVersion(ctx, j));
  Index index;
  index.media_type = std::move(media_type);
  ASSIGN_OR_RETURN(index.manifests, GetDescriptorArray(ctx, j, "manifests"));
  ASSIGN_OR_RETURN(index.annotations, GetStringMap(ctx, j, "annotations", ""));
  return index;
}

absl::StatusOr<ImageConfig> ParseImageConfig(absl::string_view json, absl::string_view name) {
  Context ctx("image config", name);
  ASSIGN_OR_RETURN(Json j, ParseObject(ctx, json));
  ImageConfig c;
  ASSIGN_OR_RETURN(c.architecture, GetString(ctx, j, "architecture", "", false));
  ASSIGN_OR_RETURN(c.os, GetString(ctx, j, "os", "", false));
  ASSIGN_OR_RETURN(c.variant, GetString(ctx, j, "variant", "", false));
  ASSIGN_OR_RETURN(c.os_version, GetString(ctx, j, "os.version", "", false));
  if (const Json* rootfs = Member(j, "rootfs"); rootfs != nullptr) {
    if (!rootfs->is_object()) return ctx.Error("rootfs", "expected an object");
    ASSIGN_OR_RETURN(c.rootfs_type, GetString(ctx, *rootfs, "type", "rootfs", false));
    ASSIGN_OR_RETURN(std::vector<std::string> ids,
                     GetStringArray(ctx, *rootfs, "diff_ids", "rootfs"));
    for (size_t i = 0; i < ids.size(); ++i) {
      absl::StatusOr<berth::Digest> d = berth::Digest::Parse(ids[i]);
      if (!d.ok()) return ctx.Error(absl::StrCat("rootfs.diff_ids[", i, "]"), d.status().message());
      c.diff_ids.push_back(*std::move(d));
    }
  }
  c.raw = std::string(json);
  return c;
}

std::string MarshalDescriptor(const Descriptor& desc) {
  std::string out;
  PutDescriptor(out, desc);
  return out;
}

std::string MarshalManifest(const Manifest& m) {
  std::string out;
  {
    ObjectWriter w(out);
    absl::StrAppend(&w.Key("schemaVersion"), m.schema_version);
    if (!m.media_type.empty()) w.Key("mediaType") += GoJsonQuote(m.media_type);
    PutDescriptor(w.Key("config"), m.config);
    PutDescriptorArray(w.Key("layers"), m.layers);
    if (!m.annotations.empty()) PutStringMap(w.Key("annotations"), m.annotations);
  }
  return out;
}

std::string MarshalIndex(const Index& index) {
  std::string out;
  {
    ObjectWriter w(out);
    absl::StrAppend(&w.Key("schemaVersion"), index.schema_version);
    if (!index.media_type.empty()) w.Key("mediaType") += GoJsonQuote(index.media_type);
    PutDescriptorArray(w.Key("manifests"), index.manifests);
    if (!index.annotations.empty()) PutStringMap(w.Key("annotations"), index.annotations);
  }
  return out;
}

std::string GoJsonQuote(absl::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        default:
          // Control characters, and <, > and & (Go's HTML-safe default), as \u00XX.
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    uint32_t rune = 0;
    size_t n = Utf8Length(s, i, &rune);
    if (n == 0) {
      out += "\\ufffd";  // Go replaces invalid UTF-8
      ++i;
    } else if (rune == 0x2028 || rune == 0x2029) {
      out += rune == 0x2028 ? "\\u2028" : "\\u2029";
      i += n;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  out += '"';
  return out;
}

}  // namespace berth::images
