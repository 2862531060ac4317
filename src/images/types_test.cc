#include "images/types.h"

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "images/test_util.h"

namespace berth::images {
namespace {

using testing::Msg;

using ::testing::HasSubstr;

constexpr char kDigestA[] =
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
constexpr char kDigestB[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Written by containerd 1.6.20's importer (Go's encoding/json) for a docker-archive: berth must
// produce the same bytes for the same documents, or the digests would differ.
constexpr char kGoIndex[] =
    R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"sha256:2e5bd63395b536db426f4115cef7f51db85457c71c2898079fb28a25d9784ec5","size":422,"annotations":{"io.containerd.image.name":"berth.test/busybox:latest","org.opencontainers.image.ref.name":"latest"},"platform":{"architecture":"amd64","os":"linux"}}]})";
constexpr char kGoManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:f7ebbd1b4fdf11e1c95ca1c45b1a5413aaba0e55db80a5b4b62a6d8caa475ba6","size":366},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar","digest":"sha256:8c0458a7a9e67942b2aa1ef6efa0489148a53bf42d48ade24b6f08a12b272860","size":2129920}]})";

std::string OciManifest() {
  return absl::StrReplaceAll(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
          "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"A","size":7},
          "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"B",
                     "size":42,"urls":["https://example.com/l"],"annotations":{"k":"v"}}],
          "annotations":{"org.opencontainers.image.created":"1970-01-01T00:00:00Z"}})",
      {{"\"A\"", absl::StrCat("\"", kDigestA, "\"")},
       {"\"B\"", absl::StrCat("\"", kDigestB, "\"")}});
}

TEST(TypesTest, ParsesOciManifest) {
  absl::StatusOr<Manifest> m = ParseManifest(OciManifest(), "m1");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->schema_version, 2);
  EXPECT_EQ(m->media_type, kMediaTypeOciManifest);
  EXPECT_EQ(m->config.media_type, kMediaTypeOciConfig);
  EXPECT_EQ(m->config.digest.str(), kDigestA);
  EXPECT_EQ(m->config.size, 7);
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].digest.str(), kDigestB);
  EXPECT_EQ(m->layers[0].size, 42);
  EXPECT_EQ(m->layers[0].urls, std::vector<std::string>{"https://example.com/l"});
  EXPECT_EQ(m->layers[0].annotations.at("k"), "v");
  EXPECT_EQ(m->annotations.size(), 1u);
}

TEST(TypesTest, GoFormattedDocumentsRoundTripByteForByte) {
  absl::StatusOr<Index> index = ParseIndex(kGoIndex, "index");
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->manifests.size(), 1u);
  ASSERT_TRUE(index->manifests[0].platform.has_value());
  EXPECT_EQ(index->manifests[0].platform->os, "linux");
  EXPECT_EQ(index->manifests[0].annotations.at(kAnnotationRefName), "latest");
  EXPECT_EQ(MarshalIndex(*index), kGoIndex);

  absl::StatusOr<Manifest> m = ParseManifest(kGoManifest, "manifest");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(MarshalManifest(*m), kGoManifest);
}

TEST(TypesTest, MarshalsPlatformFieldsInGoOrder) {
  Descriptor d{.media_type = kMediaTypeOciManifest,
               .digest = *berth::Digest::Parse(kDigestA),
               .size = 3,
               .platform = Platform{.os = "windows",
                                    .architecture = "amd64",
                                    .variant = "v2",
                                    .os_version = "10.0.1",
                                    .os_features = {"win32k"}}};
  EXPECT_EQ(MarshalDescriptor(d),
            absl::StrCat(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")",
                         kDigestA,
                         R"(","size":3,"platform":{"architecture":"amd64","os":"windows",)"
                         R"("os.version":"10.0.1","os.features":["win32k"],"variant":"v2"}})"));
  absl::StatusOr<Descriptor> back = ParseDescriptor(MarshalDescriptor(d), "d");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, d);
}

TEST(TypesTest, GoJsonQuoteEscapesLikeEncodingJson) {
  EXPECT_EQ(GoJsonQuote("a<b>&c"), R"("a\u003cb\u003e\u0026c")");
  EXPECT_EQ(GoJsonQuote("q\"\\\n\r\t\x01"), R"("q\"\\\n\r\t\u0001")");
  EXPECT_EQ(GoJsonQuote("\b\f"), R"("\u0008\u000c")");
  EXPECT_EQ(GoJsonQuote("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(GoJsonQuote("\xe2\x80\xa8"), R"("\u2028")");
  EXPECT_EQ(GoJsonQuote("bad\xff"), R"("bad\ufffd")");
  EXPECT_EQ(GoJsonQuote("\xc0\xaf"), R"("\ufffd\ufffd")");  // overlong '/'
}

TEST(TypesTest, ParsesImageConfig) {
  std::string text =
      absl::StrCat(R"({"architecture":"arm","os":"linux","variant":"v7","config":{"Cmd":["sh"]},)"
                   R"("rootfs":{"type":"layers","diff_ids":[")",
                   kDigestA, R"(",")", kDigestB, R"("]}})");
  absl::StatusOr<ImageConfig> c = ParseImageConfig(text, "cfg");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "arm");
  EXPECT_EQ(c->variant, "v7");
  EXPECT_EQ(c->rootfs_type, "layers");
  ASSERT_EQ(c->diff_ids.size(), 2u);
  EXPECT_EQ(c->diff_ids[1].str(), kDigestB);
  EXPECT_EQ(c->raw, text);
}

struct BadDocument {
  const char* what;
  std::string json;
  const char* message;
};

TEST(TypesTest, RejectsMalformedManifests) {
  std::string good = OciManifest();
  std::vector<BadDocument> cases = {
      {"bad json", "{", "malformed JSON"},
      {"not an object", "[]", "expected a JSON object"},
      {"schema 1", absl::StrReplaceAll(good, {{"\"schemaVersion\":2", "\"schemaVersion\":1"}}),
       "schemaVersion: unsupported version 1"},
      {"no schema", absl::StrReplaceAll(good, {{"\"schemaVersion\":2,", ""}}),
       "schemaVersion: missing"},
      {"schema as string",
       absl::StrReplaceAll(good, {{"\"schemaVersion\":2", "\"schemaVersion\":\"2\""}}),
       "schemaVersion: expected an integer"},
      {"bad digest", absl::StrReplaceAll(good, {{kDigestA, "sha256:abc"}}),
       "config.digest: invalid checksum digest length"},
      {"missing digest",
       absl::StrReplaceAll(good, {{absl::StrCat("\"digest\":\"", kDigestA, "\","), ""}}),
       "config.digest: missing"},
      {"negative size", absl::StrReplaceAll(good, {{"\"size\":42", "\"size\":-1"}}),
       "layers[0].size: negative size -1"},
      {"fractional size", absl::StrReplaceAll(good, {{"\"size\":42", "\"size\":4.2"}}),
       "layers[0].size: expected an integer"},
      {"layer without media type",
       absl::StrReplaceAll(
           good, {{"\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",", ""}}),
       "layers[0].mediaType: missing"},
      {"index media type", absl::StrReplaceAll(good, {{kMediaTypeOciManifest, kMediaTypeOciIndex}}),
       "expected a manifest but found an index"},
      {"other media type", absl::StrReplaceAll(good, {{kMediaTypeOciManifest, "application/json"}}),
       "mediaType: not a manifest type: application/json"},
      {"has manifests", absl::StrReplaceAll(good, {{"\"layers\"", "\"manifests\":[],\"layers\""}}),
       "expected a manifest but found an index"},
      {"schema 1 fsLayers", R"({"schemaVersion":1,"fsLayers":[]})", "schema 1 manifests"},
      {"no layers",
       absl::StrCat(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")", kDigestA,
                    R"(","size":1}})"),
       "layers: missing"},
      {"annotation not a string", absl::StrReplaceAll(good, {{"{\"k\":\"v\"}", "{\"k\":1}"}}),
       "layers[0].annotations.k: expected a string"},
  };
  for (const BadDocument& c : cases) {
    absl::StatusOr<Manifest> m = ParseManifest(c.json, "sha256:feed");
    ASSERT_FALSE(m.ok()) << c.what;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(Msg(m.status()), HasSubstr("invalid manifest sha256:feed: ")) << c.what;
    EXPECT_THAT(Msg(m.status()), HasSubstr(c.message)) << c.what;
  }
}

TEST(TypesTest, RejectsMalformedIndexes) {
  std::string entry = absl::StrCat(R"({"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
                                   R"("digest":")",
                                   kDigestA, R"(","size":1})");
  std::vector<BadDocument> cases = {
      {"manifest given", OciManifest(), "expected an index but found a manifest"},
      {"no manifests", R"({"schemaVersion":2})", "manifests: missing"},
      {"manifests not array", R"({"schemaVersion":2,"manifests":{}})", "expected an array"},
      {"bad entry", R"({"schemaVersion":2,"manifests":[1]})",
       "manifests[0]: expected a descriptor"},
      {"bad platform",
       absl::StrCat(
           R"({"schemaVersion":2,"manifests":[)",
           absl::StrReplaceAll(entry, {{"\"size\":1", "\"size\":1,\"platform\":{\"os\":7}"}}),
           "]}"),
       "manifests[0].platform.os: expected a string"},
      {"wrong schema", absl::StrCat(R"({"schemaVersion":3,"manifests":[)", entry, "]}"),
       "unsupported version 3"},
  };
  for (const BadDocument& c : cases) {
    absl::StatusOr<Index> i = ParseIndex(c.json, "index.json");
    ASSERT_FALSE(i.ok()) << c.what;
    EXPECT_EQ(i.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(Msg(i.status()), HasSubstr("invalid index index.json: ")) << c.what;
    EXPECT_THAT(Msg(i.status()), HasSubstr(c.message)) << c.what;
  }
  EXPECT_TRUE(
      ParseIndex(absl::StrCat(R"({"schemaVersion":2,"manifests":[)", entry, "]}"), "i").ok());
}

TEST(TypesTest, RejectsMalformedConfigs) {
  EXPECT_THAT(Msg(ParseImageConfig("nope", "c").status()), HasSubstr("malformed JSON"));
  EXPECT_THAT(Msg(ParseImageConfig(R"({"rootfs":{"diff_ids":["sha256:1"]}})", "c").status()),
              HasSubstr("invalid image config c: rootfs.diff_ids[0]"));
  EXPECT_THAT(Msg(ParseImageConfig(R"({"os":3})", "c").status()),
              HasSubstr("os: expected a string"));
}

TEST(TypesTest, MediaTypeHelpers) {
  EXPECT_TRUE(IsManifest(kMediaTypeDockerManifest));
  EXPECT_TRUE(IsManifest(kMediaTypeOciManifest));
  EXPECT_FALSE(IsManifest(kMediaTypeDockerSchema1Manifest));
  EXPECT_TRUE(IsIndex(kMediaTypeDockerManifestList));
  EXPECT_TRUE(IsIndex(kMediaTypeOciIndex));
  EXPECT_FALSE(IsIndex(kMediaTypeOciManifest));
  EXPECT_TRUE(IsConfig(kMediaTypeDockerConfig));
  EXPECT_TRUE(IsConfig(kMediaTypeOciConfig));
  EXPECT_FALSE(IsConfig(kMediaTypeContainerdCheckpointConfig));
  EXPECT_TRUE(IsKnownConfig(kMediaTypeContainerdCheckpointConfig));
  for (const char* layer :
       {kMediaTypeDockerLayer, kMediaTypeDockerLayerGzip, kMediaTypeDockerLayerForeign,
        kMediaTypeDockerLayerForeignGzip, kMediaTypeOciLayer, kMediaTypeOciLayerGzip,
        kMediaTypeOciLayerZstd, kMediaTypeOciLayerNonDistributable,
        "application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
        "application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted"}) {
    EXPECT_TRUE(IsLayer(layer)) << layer;
  }
  EXPECT_FALSE(IsLayer(kMediaTypeOciConfig));
  EXPECT_TRUE(IsNonDistributable(kMediaTypeDockerLayerForeignGzip));
  EXPECT_TRUE(IsNonDistributable(kMediaTypeOciLayerNonDistributableZstd));
  EXPECT_FALSE(IsNonDistributable(kMediaTypeOciLayerZstd));
}

TEST(TypesTest, LayerCompressionFollowsContainerd) {
  EXPECT_EQ(*LayerCompression(kMediaTypeDockerLayer), Compression::kUnknown);
  EXPECT_EQ(*LayerCompression(kMediaTypeDockerLayerGzip), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(kMediaTypeDockerLayerForeignGzip), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(kMediaTypeOciLayer), Compression::kNone);
  EXPECT_EQ(*LayerCompression(kMediaTypeOciLayerGzip), Compression::kGzip);
  EXPECT_EQ(*LayerCompression(kMediaTypeOciLayerZstd), Compression::kZstd);
  EXPECT_EQ(*LayerCompression(kMediaTypeOciLayerNonDistributableZstd), Compression::kZstd);
  EXPECT_EQ(*LayerCompression("application/vnd.docker.image.rootfs.diff.tar.gzip+encrypted"),
            Compression::kNone);
  EXPECT_EQ(LayerCompression(kMediaTypeOciConfig).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(TypesTest, DetectsCompressionFromMagic) {
  EXPECT_EQ(DetectCompression(std::string("\x1f\x8b\x08\x00", 4)), Compression::kGzip);
  EXPECT_EQ(DetectCompression("\x28\xb5\x2f\xfd\x04"), Compression::kZstd);
  EXPECT_EQ(DetectCompression("\x50\x2a\x4d\x18\x00"), Compression::kZstd);  // skippable frame
  EXPECT_EQ(DetectCompression("bin/\0\0\0"), Compression::kNone);
  EXPECT_EQ(DetectCompression(""), Compression::kNone);
  EXPECT_EQ(DetectCompression("\x1f"), Compression::kNone);
}

}  // namespace
}  // namespace berth::images
