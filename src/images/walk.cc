#include "images/walk.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "content/digester.h"

namespace berth::images {
namespace {

constexpr char kGcRefConfig[] = "containerd.io/gc.ref.content.config";
constexpr char kGcRefManifest[] = "containerd.io/gc.ref.content.m.";
constexpr char kGcRefLayer[] = "containerd.io/gc.ref.content.l.";
constexpr char kGcRefContent[] = "containerd.io/gc.ref.content.";

bool Accepts(const Matcher& matcher, const Descriptor& d) {
  return !d.platform.has_value() || matcher.Match(*d.platform);
}

// Index entries the matcher accepts, best first; entries without platform go last, in order.
std::vector<Descriptor> FilterAndSort(std::vector<Descriptor> children, const Matcher& matcher) {
  std::vector<Descriptor> out;
  for (Descriptor& d : children) {
    if (Accepts(matcher, d)) out.push_back(std::move(d));
  }
  std::stable_sort(out.begin(), out.end(), [&](const Descriptor& a, const Descriptor& b) {
    if (!a.platform.has_value()) return false;
    if (!b.platform.has_value()) return true;
    return matcher.Less(*a.platform, *b.platform);
  });
  return out;
}

absl::Status NoMatch(const Descriptor& root) {
  return ErrNotFound(absl::StrCat("no match for platform in manifest ", root.digest.str()));
}

// The platform an image config declares, as containerd reads it: os and architecture only.
absl::StatusOr<Platform> ConfigPlatform(content::Store& store, const Descriptor& config) {
  ASSIGN_OR_RETURN(ImageConfig c, ReadConfig(store, config));
  Platform p;
  p.os = c.os;
  p.architecture = c.architecture;
  return NormalizePlatform(std::move(p));
}

class ManifestResolver {
 public:
  ManifestResolver(content::Store& store, const Descriptor& root, const Matcher& matcher)
      : store_(store), root_(root), matcher_(matcher) {}

  absl::StatusOr<ResolvedManifest> Run() {
    RETURN_IF_ERROR(Visit(root_));
    if (found_.empty()) {
      if (was_index_) return NoMatch(root_);
      return ErrNotFound(absl::StrCat("manifest ", root_.digest.str()));
    }
    return std::move(found_.front());
  }

 private:
  absl::Status Visit(const Descriptor& desc) {
    if (IsManifest(desc.media_type)) {
      ASSIGN_OR_RETURN(std::string blob, ReadDocument(store_, desc));
      ASSIGN_OR_RETURN(Manifest m, ParseManifest(blob, desc.digest.str()));
      if (!(desc.digest == root_.digest)) {
        if (desc.platform.has_value() && !matcher_.Match(*desc.platform)) return absl::OkStatus();
        if (!desc.platform.has_value()) {
          ASSIGN_OR_RETURN(Platform p, ConfigPlatform(store_, m.config));
          if (!matcher_.Match(p)) return absl::OkStatus();
        }
      }
      found_.push_back(ResolvedManifest{.descriptor = desc, .manifest = std::move(m)});
      return absl::OkStatus();
    }
    if (IsIndex(desc.media_type)) {
      ASSIGN_OR_RETURN(std::string blob, ReadDocument(store_, desc));
      ASSIGN_OR_RETURN(Index index, ParseIndex(blob, desc.digest.str()));
      std::vector<Descriptor> children = FilterAndSort(std::move(index.manifests), matcher_);
      was_index_ = true;
      if (!children.empty()) return Visit(children.front());
      return absl::OkStatus();
    }
    return ErrNotFound(
        absl::StrCat("unexpected media type ", desc.media_type, " for ", desc.digest.str()));
  }

  content::Store& store_;
  const Descriptor& root_;
  const Matcher& matcher_;
  std::vector<ResolvedManifest> found_;
  bool was_index_ = false;
};

absl::Status LabelChildren(content::Store& store, const Descriptor& desc, const Matcher& matcher,
                           bool* visited_any) {
  ASSIGN_OR_RETURN(std::vector<Descriptor> all, Children(store, desc));
  std::vector<Descriptor> children;
  for (Descriptor& d : all) {
    if (Accepts(matcher, d)) children.push_back(std::move(d));
  }
  if (children.empty()) return absl::OkStatus();
  *visited_any = true;
  content::Info info{.digest = desc.digest, .labels = ChildGcLabels(children)};
  std::vector<std::string> paths;
  for (const auto& [key, value] : info.labels) paths.push_back(absl::StrCat("labels.", key));
  RETURN_IF_ERROR(store.Update(info, paths).status());
  for (const Descriptor& child : children) {
    RETURN_IF_ERROR(LabelChildren(store, child, matcher, visited_any));
  }
  return absl::OkStatus();
}

absl::Status CollectPlatforms(content::Store& store, const Descriptor& desc,
                              std::vector<Platform>& out) {
  if (desc.platform.has_value()) {
    out.push_back(*desc.platform);
    return absl::OkStatus();  // containerd skips the children of a descriptor with a platform
  }
  if (IsConfig(desc.media_type)) {
    ASSIGN_OR_RETURN(Platform p, ConfigPlatform(store, desc));
    out.push_back(std::move(p));
  }
  ASSIGN_OR_RETURN(std::vector<Descriptor> children, Children(store, desc));
  for (const Descriptor& child : children) RETURN_IF_ERROR(CollectPlatforms(store, child, out));
  return absl::OkStatus();
}

absl::Status AddSize(content::Store& store, const Descriptor& desc, const Matcher& matcher,
                     int64_t& total) {
  if (desc.size < 0) {
    return ErrInvalidArgument(absl::StrCat("invalid size ", desc.size, " in ", desc.digest.str(),
                                           " (", desc.media_type, ")"));
  }
  total += desc.size;
  ASSIGN_OR_RETURN(std::vector<Descriptor> children, Children(store, desc));
  if (IsIndex(desc.media_type)) {
    children = FilterAndSort(std::move(children), matcher);
    if (children.empty()) return NoMatch(desc);
    children.erase(children.begin() + 1, children.end());
  } else {
    std::erase_if(children, [&](const Descriptor& d) { return !Accepts(matcher, d); });
  }
  for (const Descriptor& child : children) RETURN_IF_ERROR(AddSize(store, child, matcher, total));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadDocument(content::Store& store, const Descriptor& desc) {
  if (desc.size > kMaxDocumentSize) {
    return ErrInvalidArgument(absl::StrCat("document ", desc.digest.str(), " (", desc.media_type,
                                           ") is larger than ", kMaxDocumentSize, " bytes"));
  }
  // One byte more than expected, to notice a blob that is larger than its descriptor says.
  ASSIGN_OR_RETURN(std::string blob,
                   store.ReadAt(desc.digest, 0, static_cast<size_t>(desc.size) + 1));
  if (static_cast<int64_t>(blob.size()) != desc.size) {
    return ErrInvalidArgument(absl::StrCat("blob ", desc.digest.str(), ": size ",
                                           blob.size() > static_cast<size_t>(desc.size)
                                               ? absl::StrCat("over ", desc.size)
                                               : absl::StrCat(blob.size()),
                                           " does not match descriptor size ", desc.size));
  }
  return blob;
}

absl::StatusOr<std::vector<Descriptor>> Children(const Descriptor& desc, absl::string_view blob) {
  std::vector<Descriptor> out;
  if (IsManifest(desc.media_type)) {
    ASSIGN_OR_RETURN(Manifest m, ParseManifest(blob, desc.digest.str()));
    out.push_back(std::move(m.config));
    for (Descriptor& l : m.layers) out.push_back(std::move(l));
  } else if (IsIndex(desc.media_type)) {
    ASSIGN_OR_RETURN(Index index, ParseIndex(blob, desc.digest.str()));
    out = std::move(index.manifests);
  }
  return out;
}

absl::StatusOr<std::vector<Descriptor>> Children(content::Store& store, const Descriptor& desc) {
  if (!IsManifest(desc.media_type) && !IsIndex(desc.media_type)) {
    return std::vector<Descriptor>();
  }
  ASSIGN_OR_RETURN(std::string blob, ReadDocument(store, desc));
  return Children(desc, blob);
}

std::string ChildGcLabelPrefix(const Descriptor& child) {
  if (IsKnownConfig(child.media_type)) return kGcRefConfig;
  if (IsManifest(child.media_type)) return kGcRefManifest;
  if (IsLayer(child.media_type)) return kGcRefLayer;
  return kGcRefContent;
}

Labels ChildGcLabels(std::span<const Descriptor> children) {
  Labels labels;
  std::map<std::string, int> next;
  for (const Descriptor& child : children) {
    std::string key = ChildGcLabelPrefix(child);
    int idx = next[key]++;
    if (idx > 0 || key.back() == '.') absl::StrAppend(&key, idx);
    labels[key] = child.digest.str();
  }
  return labels;
}

absl::Status SetChildrenLabels(content::Store& store, const Descriptor& root,
                               const Matcher& matcher) {
  bool visited_any = false;
  RETURN_IF_ERROR(LabelChildren(store, root, matcher, &visited_any));
  if (!visited_any) return ErrNotFound("image might be filtered out");
  return absl::OkStatus();
}

absl::StatusOr<ResolvedManifest> ResolveManifest(content::Store& store, const Descriptor& root,
                                                 const Matcher& matcher) {
  return ManifestResolver(store, root, matcher).Run();
}

absl::StatusOr<ImageConfig> ReadConfig(content::Store& store, const Descriptor& desc) {
  ASSIGN_OR_RETURN(std::string blob, ReadDocument(store, desc));
  return ParseImageConfig(blob, desc.digest.str());
}

absl::StatusOr<std::vector<Platform>> Platforms(content::Store& store, const Descriptor& root) {
  std::vector<Platform> out;
  RETURN_IF_ERROR(CollectPlatforms(store, root, out));
  return out;
}

absl::StatusOr<int64_t> ImageSize(content::Store& store, const Descriptor& root,
                                  const Matcher& matcher) {
  int64_t total = 0;
  RETURN_IF_ERROR(AddSize(store, root, matcher, total));
  return total;
}

absl::StatusOr<CheckResult> Check(content::Store& store, const Descriptor& root,
                                  const Matcher& matcher) {
  CheckResult result;
  absl::StatusOr<ResolvedManifest> m = ResolveManifest(store, root, matcher);
  if (absl::IsNotFound(m.status())) {
    result.required = {root};
    result.missing = {root};
    return result;
  }
  if (!m.ok()) {
    return Annotate(m.status(), absl::StrCat("failed to check image ", root.digest.str()));
  }
  result.available = true;
  result.required.push_back(m->manifest.config);
  for (const Descriptor& l : m->manifest.layers) result.required.push_back(l);
  for (const Descriptor& d : result.required) {
    absl::StatusOr<content::Info> info = store.Info(d.digest);
    if (absl::IsNotFound(info.status())) {
      result.missing.push_back(d);
    } else if (!info.ok()) {
      return Annotate(info.status(), absl::StrCat("failed to check image ", d.digest.str()));
    } else {
      result.present.push_back(d);
    }
  }
  return result;
}

std::vector<berth::Digest> ChainIds(std::span<const berth::Digest> diff_ids) {
  std::vector<berth::Digest> out;
  out.reserve(diff_ids.size());
  for (const berth::Digest& d : diff_ids) {
    if (out.empty()) {
      out.push_back(d);
    } else {
      out.push_back(content::Digester::FromBytes(absl::StrCat(out.back().str(), " ", d.str())));
    }
  }
  return out;
}

}  // namespace berth::images
