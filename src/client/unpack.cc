#include "client/unpack.h"

#include <random>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status.h"
#include "client/remote_content.h"
#include "client/temporary_lease.h"
#include "images/walk.h"

namespace berth::client {

namespace dapi = containerd::services::diff::v1;

namespace {

constexpr char kLabelGcRefSnapshot[] = "containerd.io/gc.ref.snapshot.";

struct Layer {
  images::Descriptor blob;  // as the manifest lists it (maybe compressed)
  berth::Digest diff_id;    // the uncompressed tar's digest (rootfs.diff_ids)
};

struct Rootfs {
  images::Descriptor config;
  std::vector<Layer> layers;
};

absl::StatusOr<Rootfs> ResolveRootfs(content::Store& cs, const Image& image,
                                     const images::Matcher& platform) {
  ASSIGN_OR_RETURN(images::Descriptor target, DescriptorFromProto(image.target()));
  ASSIGN_OR_RETURN(images::ResolvedManifest m, images::ResolveManifest(cs, target, platform));
  ASSIGN_OR_RETURN(images::ImageConfig config, images::ReadConfig(cs, m.manifest.config));
  if (config.diff_ids.size() != m.manifest.layers.size()) {
    return ErrInvalidArgument("mismatched image rootfs and manifest layers");
  }
  Rootfs out{.config = m.manifest.config};
  for (size_t i = 0; i < config.diff_ids.size(); ++i) {
    out.layers.push_back(Layer{.blob = m.manifest.layers[i], .diff_id = config.diff_ids[i]});
  }
  return out;
}

// rootfs.applyLayers for one layer whose chain ID does not exist yet. AlreadyExists when another
// client committed the same chain ID meanwhile.
absl::Status ApplyLayer(Client& client, const std::string& snapshotter, const Layer& layer,
                        const std::string& chain_id, const std::string& parent) {
  std::string key;
  std::vector<Mount> mounts;
  for (int attempt = 0;; ++attempt) {
    key = ExtractionKey(chain_id);
    absl::StatusOr<std::vector<Mount>> prepared = PrepareSnapshot(client, snapshotter, key, parent);
    if (prepared.ok()) {
      mounts = *std::move(prepared);
      break;
    }
    // A key taken by a concurrent unpack: try another (bounded, unlike containerd, so that a
    // daemon that always answers AlreadyExists cannot spin us forever).
    if (absl::IsAlreadyExists(prepared.status()) && attempt < 16) continue;
    return Annotate(prepared.status(),
                    absl::StrCat("failed to prepare extraction snapshot \"", key, "\""));
  }

  // Best effort, as containerd (which only logs a failed removal).
  auto remove_on_error = [&](absl::Status status) {
    (void)RemoveSnapshot(client, snapshotter, key);
    return status;
  };

  dapi::ApplyRequest req;
  *req.mutable_diff() = DescriptorToProto(layer.blob);
  for (const auto& m : mounts) *req.add_mounts() = m;
  dapi::ApplyResponse resp;
  auto ctx = client.NewContext();
  absl::Status applied = FromGrpc(client.diff().Apply(ctx.get(), req, &resp));
  if (!applied.ok()) {
    return remove_on_error(
        Annotate(applied, absl::StrCat("failed to extract layer ", layer.diff_id.str())));
  }
  if (resp.applied().digest() != layer.diff_id.str()) {
    return remove_on_error(ErrInvalidArgument(
        absl::StrCat("wrong diff id calculated on extraction \"", resp.applied().digest(), "\"")));
  }
  absl::Status committed = CommitSnapshot(client, snapshotter, chain_id, key);
  if (!committed.ok()) {
    if (absl::IsAlreadyExists(committed)) return remove_on_error(committed);
    return remove_on_error(Annotate(committed, absl::StrCat("failed to commit snapshot ", key)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ExtractionKey(const std::string& chain_id) {
  thread_local std::mt19937 rng{std::random_device{}()};
  unsigned char b[3];
  for (unsigned char& c : b) c = static_cast<unsigned char>(rng() & 0xff);
  std::string unique =
      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(b), sizeof(b)));
  int64_t nanos = absl::ToUnixNanos(absl::Now()) % 1000000000;
  return absl::StrCat("extract-", nanos, "-", unique, " ", chain_id);
}

absl::StatusOr<UnpackResult> UnpackImage(Client& client, const Image& image,
                                         const UnpackOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<TemporaryLease> lease, TemporaryLease::Begin(client));
  RemoteContentStore cs(client);
  ASSIGN_OR_RETURN(Rootfs rootfs, ResolveRootfs(cs, image, options.platform));

  UnpackResult result{.layers = static_cast<int>(rootfs.layers.size())};
  std::vector<berth::Digest> diff_ids;
  for (const Layer& layer : rootfs.layers) diff_ids.push_back(layer.diff_id);
  const std::vector<berth::Digest> chain = images::ChainIds(diff_ids);
  std::string parent;
  for (size_t i = 0; i < rootfs.layers.size(); ++i) {
    const Layer& layer = rootfs.layers[i];
    const std::string& chain_id = chain[i].str();
    absl::Status stat = StatSnapshot(client, options.snapshotter, chain_id).status();
    if (!stat.ok()) {
      if (!absl::IsNotFound(stat)) {
        return Annotate(stat, absl::StrCat("failed to stat snapshot ", chain_id));
      }
      absl::Status applied = ApplyLayer(client, options.snapshotter, layer, chain_id, parent);
      if (applied.ok()) {
        // The uncompressed digest is now verified: record it on the blob, as containerd does.
        content::Info info{.digest = layer.blob.digest,
                           .labels = {{images::kLabelUncompressed, layer.diff_id.str()}}};
        const std::string path = absl::StrCat("labels.", images::kLabelUncompressed);
        RETURN_IF_ERROR(cs.Update(info, std::span<const std::string>(&path, 1)).status());
        ++result.applied;
      } else if (!absl::IsAlreadyExists(applied)) {
        return applied;
      }
    }
    parent = chain_id;
  }
  result.chain_id = parent;

  if (!result.chain_id.empty()) {
    const std::string key = absl::StrCat(kLabelGcRefSnapshot, options.snapshotter);
    content::Info info{.digest = rootfs.config.digest, .labels = {{key, result.chain_id}}};
    const std::string path = absl::StrCat("labels.", key);
    RETURN_IF_ERROR(cs.Update(info, std::span<const std::string>(&path, 1)).status());
  }
  RETURN_IF_ERROR(lease->End());
  return result;
}

absl::StatusOr<bool> IsUnpacked(Client& client, const Image& image, const UnpackOptions& options) {
  RemoteContentStore cs(client);
  ASSIGN_OR_RETURN(Rootfs rootfs, ResolveRootfs(cs, image, options.platform));
  std::vector<berth::Digest> diff_ids;
  for (const Layer& layer : rootfs.layers) diff_ids.push_back(layer.diff_id);
  if (diff_ids.empty()) return false;
  absl::Status stat =
      StatSnapshot(client, options.snapshotter, images::ChainIds(diff_ids).back().str()).status();
  if (stat.ok()) return true;
  if (absl::IsNotFound(stat)) return false;
  return stat;
}

}  // namespace berth::client
