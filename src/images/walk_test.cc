#include "images/walk.h"

#include "absl/strings/str_cat.h"
#include "content/local_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "images/test_util.h"

namespace berth::images {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Msg;
using testing::Put;
using testing::TempDir;

Platform P(std::string os, std::string arch, std::string variant = "") {
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

berth::Digest D(absl::string_view s) { return *berth::Digest::Parse(s); }

class WalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = content::LocalStore::Open(absl::StrCat(dir_.path(), "/content"));
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  // An image for `arch`: config, two layers, manifest.
  Descriptor Image(const std::string& arch, const std::string& variant = "") {
    Descriptor l1 = Put(*store_, absl::StrCat("layer-1-", arch, variant), kMediaTypeOciLayerGzip);
    Descriptor l2 = Put(*store_, absl::StrCat("layer-2-", arch, variant), kMediaTypeOciLayer);
    Descriptor config =
        Put(*store_,
            absl::StrCat(R"({"architecture":")", arch,
                         R"(","os":"linux","rootfs":{"type":"layers",)", R"("diff_ids":[]}})"),
            kMediaTypeOciConfig);
    Manifest m{.media_type = kMediaTypeOciManifest, .config = config, .layers = {l1, l2}};
    return Put(*store_, MarshalManifest(m), kMediaTypeOciManifest);
  }

  Descriptor IndexOf(std::vector<Descriptor> manifests) {
    Index index;
    index.media_type = kMediaTypeOciIndex;
    index.manifests = std::move(manifests);
    return Put(*store_, MarshalIndex(index), kMediaTypeOciIndex);
  }

  static Descriptor With(Descriptor d, const Platform& p) {
    d.platform = p;
    return d;
  }

  // linux/arm/v5, linux/arm/v7, linux/amd64, linux/arm64 in that order.
  void MakeMultiPlatform() {
    arm5_ = With(Image("arm", "v5"), P("linux", "arm", "v5"));
    arm7_ = With(Image("arm", "v7"), P("linux", "arm", "v7"));
    amd64_ = With(Image("amd64"), P("linux", "amd64"));
    arm64_ = With(Image("arm64"), P("linux", "arm64", "v8"));
    index_ = IndexOf({*arm5_, *arm7_, *amd64_, *arm64_});
  }

  Labels LabelsOf(const Descriptor& d) {
    absl::StatusOr<content::Info> info = store_->Info(d.digest);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.ok() ? info->labels : Labels{};
  }

  TempDir dir_;
  std::unique_ptr<content::LocalStore> store_;
  std::optional<Descriptor> arm5_, arm7_, amd64_, arm64_, index_;
};

TEST_F(WalkTest, ResolvesBestPlatformOfIndex) {
  MakeMultiPlatform();
  auto pick = [&](const Matcher& m) -> std::string {
    absl::StatusOr<ResolvedManifest> r = ResolveManifest(*store_, *index_, m);
    return r.ok() ? r->descriptor.digest.str() : std::string(r.status().message());
  };
  EXPECT_EQ(pick(Matcher::Only(P("linux", "arm", "v8"))), arm7_->digest.str());
  EXPECT_EQ(pick(Matcher::Only(P("linux", "arm", "v6"))), arm5_->digest.str());
  EXPECT_EQ(pick(Matcher::Only(P("linux", "arm64"))), arm64_->digest.str());
  EXPECT_EQ(pick(Matcher::Only(P("linux", "amd64"))), amd64_->digest.str());
  EXPECT_EQ(pick(Matcher::Ordered({P("linux", "s390x"), P("linux", "arm", "v5")})),
            arm5_->digest.str());

  absl::StatusOr<ResolvedManifest> none =
      ResolveManifest(*store_, *index_, Matcher::OnlyStrict(P("linux", "386")));
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Msg(none.status()), absl::StrCat("no match for platform in manifest ",
                                             index_->digest.str(), ": not found"));

  absl::StatusOr<ResolvedManifest> r = ResolveManifest(*store_, *index_, Matcher::All());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->descriptor.digest, arm5_->digest);  // no preference: index order
  EXPECT_EQ(r->manifest.layers.size(), 2u);
  EXPECT_EQ(r->manifest.config.media_type, kMediaTypeOciConfig);
}

TEST_F(WalkTest, ResolvesThroughNestedIndexesAndConfigs) {
  MakeMultiPlatform();
  Descriptor outer = IndexOf({*index_});  // an entry without platform
  absl::StatusOr<ResolvedManifest> r =
      ResolveManifest(*store_, outer, Matcher::OnlyStrict(P("linux", "arm64")));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->descriptor.digest, arm64_->digest);

  // An entry without platform is judged by its config's os/architecture.
  Descriptor bare = Image("arm64");
  Descriptor index = IndexOf({bare});
  EXPECT_TRUE(ResolveManifest(*store_, index, Matcher::Only(P("linux", "arm64"))).ok());
  EXPECT_EQ(
      ResolveManifest(*store_, index, Matcher::OnlyStrict(P("linux", "amd64"))).status().code(),
      absl::StatusCode::kNotFound);
  // A manifest given directly is returned whatever the platform.
  EXPECT_TRUE(ResolveManifest(*store_, bare, Matcher::OnlyStrict(P("linux", "amd64"))).ok());

  Descriptor layer = Put(*store_, "x", kMediaTypeOciLayer);
  absl::StatusOr<ResolvedManifest> bad = ResolveManifest(*store_, layer, Matcher::All());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("unexpected media type"));
}

TEST_F(WalkTest, ChildrenAndGcLabels) {
  MakeMultiPlatform();
  absl::StatusOr<std::vector<Descriptor>> children = Children(*store_, *amd64_);
  ASSERT_TRUE(children.ok()) << children.status();
  ASSERT_EQ(children->size(), 3u);
  EXPECT_EQ((*children)[0].media_type, kMediaTypeOciConfig);
  Labels labels = ChildGcLabels(*children);
  EXPECT_EQ(labels, (Labels{{"containerd.io/gc.ref.content.config", (*children)[0].digest.str()},
                            {"containerd.io/gc.ref.content.l.0", (*children)[1].digest.str()},
                            {"containerd.io/gc.ref.content.l.1", (*children)[2].digest.str()}}));

  Descriptor nested = IndexOf({*amd64_});
  Descriptor other = Put(*store_, "{}", "application/vnd.example+json");
  std::vector<Descriptor> mixed = {*arm5_, nested, *arm7_, other, (*children)[0], (*children)[0]};
  EXPECT_EQ(ChildGcLabels(mixed),
            (Labels{{"containerd.io/gc.ref.content.m.0", arm5_->digest.str()},
                    {"containerd.io/gc.ref.content.0", nested.digest.str()},
                    {"containerd.io/gc.ref.content.m.1", arm7_->digest.str()},
                    {"containerd.io/gc.ref.content.1", other.digest.str()},
                    {"containerd.io/gc.ref.content.config", (*children)[0].digest.str()},
                    {"containerd.io/gc.ref.content.config1", (*children)[0].digest.str()}}));

  EXPECT_TRUE(Children(*store_, (*children)[1])->empty());  // layers have no children
  Descriptor broken = Put(*store_, R"({"schemaVersion":2,"config":{}})", kMediaTypeOciManifest);
  absl::StatusOr<std::vector<Descriptor>> bad = Children(*store_, broken);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()), HasSubstr(absl::StrCat("invalid manifest ", broken.digest.str())));
}

TEST_F(WalkTest, SetChildrenLabelsFollowsThePlatform) {
  MakeMultiPlatform();
  ASSERT_TRUE(SetChildrenLabels(*store_, *index_, Matcher::OnlyStrict(P("linux", "amd64"))).ok());
  EXPECT_EQ(LabelsOf(*index_),
            (Labels{{"containerd.io/gc.ref.content.m.0", amd64_->digest.str()}}));
  Labels m = LabelsOf(*amd64_);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_TRUE(m.contains("containerd.io/gc.ref.content.config"));
  EXPECT_TRUE(m.contains("containerd.io/gc.ref.content.l.1"));
  EXPECT_TRUE(LabelsOf(*arm64_).empty());

  ASSERT_TRUE(SetChildrenLabels(*store_, *index_, Matcher::All()).ok());
  EXPECT_EQ(LabelsOf(*index_).size(), 4u);
  EXPECT_EQ(LabelsOf(*index_).at("containerd.io/gc.ref.content.m.3"), arm64_->digest.str());
  EXPECT_EQ(LabelsOf(*arm64_).size(), 3u);

  absl::Status none = SetChildrenLabels(*store_, *index_, Matcher::OnlyStrict(P("linux", "s390x")));
  EXPECT_EQ(none.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(none), HasSubstr("image might be filtered out"));
}

TEST_F(WalkTest, CheckReportsMissingContent) {
  MakeMultiPlatform();
  Matcher amd64 = Matcher::OnlyStrict(P("linux", "amd64"));
  absl::StatusOr<CheckResult> ok = Check(*store_, *index_, amd64);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->available);
  EXPECT_EQ(ok->required.size(), 3u);
  EXPECT_EQ(ok->present.size(), 3u);
  EXPECT_TRUE(ok->missing.empty());

  Descriptor layer = ResolveManifest(*store_, *index_, amd64)->manifest.layers[1];
  ASSERT_TRUE(store_->Delete(layer.digest).ok());
  absl::StatusOr<CheckResult> partial = Check(*store_, *index_, amd64);
  ASSERT_TRUE(partial.ok());
  EXPECT_TRUE(partial->available);
  EXPECT_EQ(partial->present.size(), 2u);
  ASSERT_EQ(partial->missing.size(), 1u);
  EXPECT_EQ(partial->missing[0].digest, layer.digest);

  ASSERT_TRUE(store_->Delete(amd64_->digest).ok());
  absl::StatusOr<CheckResult> gone = Check(*store_, *index_, amd64);
  ASSERT_TRUE(gone.ok()) << gone.status();
  EXPECT_FALSE(gone->available);
  ASSERT_EQ(gone->missing.size(), 1u);
  EXPECT_EQ(gone->missing[0].digest, index_->digest);

  Descriptor wrong_size = *index_;
  wrong_size.size += 1;
  absl::StatusOr<CheckResult> bad = Check(*store_, wrong_size, amd64);
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("does not match descriptor size"));
}

TEST_F(WalkTest, PlatformsAndSize) {
  MakeMultiPlatform();
  absl::StatusOr<std::vector<Platform>> ps = Platforms(*store_, *index_);
  ASSERT_TRUE(ps.ok()) << ps.status();
  EXPECT_THAT(*ps, ElementsAre(P("linux", "arm", "v5"), P("linux", "arm", "v7"),
                               P("linux", "amd64"), P("linux", "arm64", "v8")));
  Descriptor bare = Image("aarch64");
  EXPECT_THAT(*Platforms(*store_, bare), ElementsAre(P("linux", "arm64")));

  Matcher amd64 = Matcher::OnlyStrict(P("linux", "amd64"));
  absl::StatusOr<ResolvedManifest> r = ResolveManifest(*store_, *index_, amd64);
  int64_t want = index_->size + amd64_->size + r->manifest.config.size;
  for (const Descriptor& l : r->manifest.layers) want += l.size;
  EXPECT_EQ(*ImageSize(*store_, *index_, amd64), want);
  EXPECT_EQ(ImageSize(*store_, *index_, Matcher::OnlyStrict(P("linux", "386"))).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(ChainIdsTest, KnownVectors) {
  // Expected values computed with sha256sum: printf '%s' "<chain[i-1]> <diff[i]>" | sha256sum
  berth::Digest a = D("sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4");
  berth::Digest b = D("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  berth::Digest c = D("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
  EXPECT_TRUE(ChainIds({}).empty());
  EXPECT_THAT(ChainIds(std::vector<berth::Digest>{a}), ElementsAre(a));
  EXPECT_THAT(
      ChainIds(std::vector<berth::Digest>{a, b, c}),
      ElementsAre(a, D("sha256:e735a3dad8470831ba9a0854a72b7af2a5c40e906b4389d69c39790bd3ac26eb"),
                  D("sha256:781bf125eab712933a6dff6b0b7e4367124d9abaf3ea9f1bdfde876e61d2a223")));
}

}  // namespace
}  // namespace berth::images
