// Import and export of image archives: the archives scripts/make-test-images.sh builds, crafted
// malformed ones, and export -> import round trips.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "content/digester.h"
#include "content/local_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "images/archive_export.h"
#include "images/archive_import.h"
#include "images/test_util.h"
#include "images/walk.h"

namespace berth::images {
namespace {

using testing::BlobName;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Member;
using testing::Msg;
using testing::Put;
using testing::TempDir;

std::string ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// name -> content (links: "-> target") of every member of a tar held in memory.
std::map<std::string, std::string> ReadTar(const std::string& bytes,
                                           std::vector<std::string>* order = nullptr) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  EXPECT_EQ(archive_read_open_memory(a, bytes.data(), bytes.size()), ARCHIVE_OK);
  struct archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string data(static_cast<size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) archive_read_data(a, data.data(), data.size());
    out[archive_entry_pathname(e)] = data;
    if (order != nullptr) order->push_back(archive_entry_pathname(e));
  }
  archive_read_free(a);
  return out;
}

// Decompresses gzip data (libarchive's raw format).
std::string Gunzip(const std::string& gz) {
  struct archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);
  archive_read_support_format_raw(a);
  archive_read_open_memory(a, gz.data(), gz.size());
  struct archive_entry* e;
  std::string out;
  if (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    char buf[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  }
  archive_read_free(a);
  return out;
}

class ArchiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    images_ = new TempDir();
    std::string cmd = absl::StrCat("bash ", BERTH_SOURCE_DIR, "/scripts/make-test-images.sh ",
                                   images_->path(), " >/dev/null");
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  static void TearDownTestSuite() {
    delete images_;
    images_ = nullptr;
  }

  void SetUp() override { store_ = OpenStore("a"); }

  std::unique_ptr<content::LocalStore> OpenStore(const std::string& name) {
    auto s = content::LocalStore::Open(absl::StrCat(dir_.path(), "/", name));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  static std::string Image(const std::string& file) {
    return absl::StrCat(images_->path(), "/", file);
  }

  absl::StatusOr<ImportResult> ImportFile(const std::string& path, content::Store& store,
                                          const ImportOptions& options = {}) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    absl::StatusOr<ImportResult> r = ImportArchive(fd, store, options);
    close(fd);
    return r;
  }
  absl::StatusOr<ImportResult> ImportBytes(const std::string& bytes,
                                           const ImportOptions& options = {}) {
    int fd = testing::OpenBytes(dir_.path(), bytes);
    absl::StatusOr<ImportResult> r = ImportArchive(fd, *store_, options);
    close(fd);
    return r;
  }

  absl::StatusOr<std::string> Export(content::Store& store, const std::vector<ExportImage>& images,
                                     const ExportOptions& options = {}) {
    std::string path = absl::StrCat(dir_.path(), "/export-", ++exports_, ".tar");
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    absl::Status st = ExportArchive(store, images, fd, options);
    close(fd);
    if (!st.ok()) {
      EXPECT_EQ(ReadWholeFile(path), "") << "nothing is written when the export fails up front";
      return st;
    }
    return ReadWholeFile(path);
  }

  // Every committed blob hashes to its digest; no ingest is left behind.
  void ExpectStoreConsistent(content::Store& store) {
    ASSERT_TRUE(store
                    .Walk(
                        [&](const content::Info& info) {
                          content::Digester d;
                          int64_t off = 0;
                          for (;;) {
                            absl::StatusOr<std::string> chunk =
                                store.ReadAt(info.digest, off, 1 << 20);
                            EXPECT_TRUE(chunk.ok()) << chunk.status();
                            if (!chunk.ok() || chunk->empty()) break;
                            d.Update(*chunk);
                            off += static_cast<int64_t>(chunk->size());
                          }
                          EXPECT_EQ(d.Current(), info.digest);
                          EXPECT_EQ(off, info.size);
                          return absl::OkStatus();
                        },
                        {})
                    .ok());
    absl::StatusOr<std::vector<content::Status>> ingests = store.ListStatuses({});
    ASSERT_TRUE(ingests.ok());
    EXPECT_TRUE(ingests->empty()) << (*ingests)[0].ref;
  }

  size_t BlobCount(content::Store& store) { return store.List({})->size(); }

  static TempDir* images_;
  TempDir dir_;
  std::unique_ptr<content::LocalStore> store_;
  int exports_ = 0;
};

TempDir* ArchiveTest::images_ = nullptr;

TEST_F(ArchiveTest, ImportsDockerArchive) {
  absl::StatusOr<ImportResult> r = ImportFile(Image("busybox-docker.tar"), *store_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->index.media_type, kMediaTypeOciIndex);
  ASSERT_EQ(r->images.size(), 1u);
  const ImportedImage& img = r->images[0];
  EXPECT_EQ(img.name, "berth.test/busybox:latest");
  EXPECT_EQ(img.target.media_type, kMediaTypeDockerManifest);
  EXPECT_EQ(img.target.annotations.at(kAnnotationRefName), "latest");
  ASSERT_TRUE(img.target.platform.has_value());
  EXPECT_EQ(*img.target.platform, NormalizePlatform(DefaultPlatform()));

  absl::StatusOr<ResolvedManifest> m = ResolveManifest(*store_, r->index, Matcher::Default());
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->descriptor.digest, img.target.digest);
  EXPECT_EQ(m->manifest.media_type, kMediaTypeDockerManifest);
  EXPECT_EQ(m->manifest.config.media_type, kMediaTypeDockerConfig);
  ASSERT_EQ(m->manifest.layers.size(), 1u);
  EXPECT_EQ(m->manifest.layers[0].media_type, kMediaTypeDockerLayer);
  absl::StatusOr<ImageConfig> config = ReadConfig(*store_, m->manifest.config);
  ASSERT_TRUE(config.ok());
  EXPECT_THAT(config->diff_ids, ElementsAre(m->manifest.layers[0].digest));

  // containerd 1.6.20 imported this very archive (same busybox binary) to these digests.
  if (m->manifest.layers[0].digest.str() ==
      "sha256:8c0458a7a9e67942b2aa1ef6efa0489148a53bf42d48ade24b6f08a12b272860") {
    EXPECT_EQ(img.target.digest.str(),
              "sha256:2e5bd63395b536db426f4115cef7f51db85457c71c2898079fb28a25d9784ec5");
    EXPECT_EQ(r->index.digest.str(),
              "sha256:b376291debcf8a2f1ac60b28be17cf15f376c2c0ba172be90e8e6652863b3885");
  }
  absl::StatusOr<CheckResult> check = Check(*store_, r->index, Matcher::Default());
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->available);
  EXPECT_TRUE(check->missing.empty());
  ExpectStoreConsistent(*store_);
}

TEST_F(ArchiveTest, ImportsOciArchiveWithTheSameContentAsDocker) {
  absl::StatusOr<ImportResult> oci = ImportFile(Image("busybox-oci.tar"), *store_);
  ASSERT_TRUE(oci.ok()) << oci.status();
  ASSERT_EQ(oci->images.size(), 1u);
  EXPECT_EQ(oci->images[0].name, "berth.test/busybox:latest");
  EXPECT_EQ(oci->images[0].target.media_type, kMediaTypeOciManifest);
  absl::StatusOr<ResolvedManifest> m = ResolveManifest(*store_, oci->index, Matcher::Default());
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->manifest.layers.size(), 1u);
  EXPECT_EQ(m->manifest.layers[0].media_type, kMediaTypeOciLayerGzip);

  auto docker_store = OpenStore("b");
  absl::StatusOr<ImportResult> docker = ImportFile(Image("busybox-docker.tar"), *docker_store);
  ASSERT_TRUE(docker.ok()) << docker.status();
  absl::StatusOr<ResolvedManifest> dm =
      ResolveManifest(*docker_store, docker->index, Matcher::Default());
  ASSERT_TRUE(dm.ok());
  // One config for both archives; the docker layer is the OCI layer uncompressed.
  EXPECT_EQ(dm->manifest.config.digest, m->manifest.config.digest);
  EXPECT_EQ(ReadConfig(*store_, m->manifest.config)->diff_ids[0], dm->manifest.layers[0].digest);
  ExpectStoreConsistent(*store_);
}

TEST_F(ArchiveTest, ImportsMultiLayerImages) {
  absl::StatusOr<ImportResult> oci = ImportFile(Image("layers-oci.tar"), *store_);
  ASSERT_TRUE(oci.ok()) << oci.status();
  absl::StatusOr<ResolvedManifest> m = ResolveManifest(*store_, oci->index, Matcher::Default());
  ASSERT_TRUE(m.ok()) << m.status();
  std::vector<std::string> types;
  for (const Descriptor& l : m->manifest.layers) types.push_back(l.media_type);
  EXPECT_THAT(types, ElementsAre(kMediaTypeOciLayerGzip, kMediaTypeOciLayer, kMediaTypeOciLayerZstd,
                                 kMediaTypeOciLayerGzip));
  absl::StatusOr<ImageConfig> config = ReadConfig(*store_, m->manifest.config);
  ASSERT_EQ(config->diff_ids.size(), 4u);
  EXPECT_EQ(config->diff_ids[1], m->manifest.layers[1].digest);  // the uncompressed one

  absl::StatusOr<ImportResult> docker = ImportFile(Image("layers-docker.tar"), *store_);
  ASSERT_TRUE(docker.ok()) << docker.status();
  EXPECT_EQ(docker->images[0].name, "berth.test/layers:latest");
  absl::StatusOr<ResolvedManifest> dm = ResolveManifest(*store_, docker->index, Matcher::Default());
  ASSERT_TRUE(dm.ok());
  std::vector<berth::Digest> layers;
  for (const Descriptor& l : dm->manifest.layers) {
    EXPECT_EQ(l.media_type, kMediaTypeDockerLayer);
    layers.push_back(l.digest);
  }
  EXPECT_EQ(layers, config->diff_ids);
  EXPECT_EQ(ChainIds(layers).size(), 4u);

  ASSERT_TRUE(SetChildrenLabels(*store_, docker->index, Matcher::Default()).ok());
  Labels labels = store_->Info(dm->descriptor.digest)->labels;
  EXPECT_EQ(labels.at("containerd.io/gc.ref.content.config"), dm->manifest.config.digest.str());
  EXPECT_EQ(labels.at("containerd.io/gc.ref.content.l.3"), layers[3].str());
  EXPECT_EQ(store_->Info(docker->index.digest)->labels.at("containerd.io/gc.ref.content.m.0"),
            dm->descriptor.digest.str());
  ExpectStoreConsistent(*store_);
}

TEST_F(ArchiveTest, ImportsFromACompressedPipe) {
  // `docker save | gzip` piped in: read as a stream, never seeked.
  std::string cmd = absl::StrCat("gzip -c ", Image("layers-oci.tar"));
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  absl::StatusOr<ImportResult> r = ImportArchive(fileno(pipe), *store_);
  EXPECT_EQ(pclose(pipe), 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].name, "berth.test/layers:latest");
  EXPECT_TRUE(Check(*store_, r->index, Matcher::Default())->missing.empty());
  ExpectStoreConsistent(*store_);
}

// A docker-archive crafted by hand: two images sharing a layer through a symlink, RepoTags to
// normalise, an untagged image, layers with gzip and zstd magic.
std::vector<Member> HandMadeDocker() {
  std::string config =
      R"({"architecture":"aarch64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}})";
  return {
      {"a", "", Member::kDir},
      {"a/layer.tar", "plain layer bytes"},
      {"b/layer.tar", "../a/layer.tar", Member::kSymlink},
      {"c/layer.tar", std::string("\x1f\x8b\x08\x00gzip", 8)},
      {"d/layer.tar", "\x28\xb5\x2f\xfdzstd"},
      {"cfg.json", config},
      {"manifest.json",
       R"([{"Config":"cfg.json","RepoTags":["busybox","quay.io/x/y:1"],)"
       R"("Layers":["a/layer.tar","c/layer.tar"]},)"
       R"({"Config":"./cfg.json","RepoTags":null,"Layers":["b/layer.tar","d/layer.tar"]}])"},
      {"repositories", "{}"},
  };
}

TEST_F(ArchiveTest, SynthesizesManifestsForDockerArchives) {
  absl::StatusOr<ImportResult> r = ImportBytes(testing::MakeTar(HandMadeDocker()));
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->images.size(), 3u);
  EXPECT_EQ(r->images[0].name, "docker.io/library/busybox:latest");
  EXPECT_EQ(r->images[0].target.annotations.at(kAnnotationRefName), "latest");
  EXPECT_EQ(r->images[1].name, "quay.io/x/y:1");
  EXPECT_EQ(r->images[1].target.annotations.at(kAnnotationRefName), "1");
  EXPECT_EQ(r->images[0].target.digest, r->images[1].target.digest);
  EXPECT_EQ(r->images[2].name, "");
  EXPECT_TRUE(r->images[2].target.annotations.empty());
  EXPECT_EQ(*r->images[2].target.platform, (Platform{.os = "linux", .architecture = "arm64"}));

  berth::Digest plain = content::Digester::FromBytes("plain layer bytes");
  for (size_t i : {0, 2}) {
    absl::StatusOr<std::vector<Descriptor>> children = Children(*store_, r->images[i].target);
    ASSERT_TRUE(children.ok()) << children.status();
    ASSERT_EQ(children->size(), 3u);
    EXPECT_EQ((*children)[1].digest, plain);
    EXPECT_EQ((*children)[1].media_type, kMediaTypeDockerLayer);
    // As containerd 1.6: anything compressed is called gzip, zstd included.
    EXPECT_EQ((*children)[2].media_type, kMediaTypeDockerLayerGzip);
  }
  // The index as containerd's importer writes it (Go's field order, no mediaType).
  std::string index = *store_->ReadAt(r->index.digest, 0, 1 << 20);
  EXPECT_THAT(index, ::testing::StartsWith(R"({"schemaVersion":2,"manifests":[{"mediaType":")"));
  EXPECT_THAT(index, HasSubstr(R"("platform":{"architecture":"arm64","os":"linux"}})"));
  ExpectStoreConsistent(*store_);
}

TEST_F(ArchiveTest, CompressesDockerLayersOnRequestAndReusesThem) {
  absl::StatusOr<ImportResult> r =
      ImportBytes(testing::MakeTar(HandMadeDocker()), ImportOptions{.compress_layers = true});
  ASSERT_TRUE(r.ok()) << r.status();
  berth::Digest plain = content::Digester::FromBytes("plain layer bytes");
  Descriptor layer = (*Children(*store_, r->images[0].target))[1];
  EXPECT_EQ(layer.media_type, kMediaTypeDockerLayerGzip);
  EXPECT_NE(layer.digest, plain);
  EXPECT_EQ(store_->Info(layer.digest)->labels.at(kLabelUncompressed), plain.str());
  EXPECT_EQ(Gunzip(*store_->ReadAt(layer.digest, 0, 1 << 20)), "plain layer bytes");

  // containerd's importer prefers a stored compressed form of a layer, even without the option.
  absl::StatusOr<ImportResult> again = ImportBytes(testing::MakeTar(HandMadeDocker()));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*Children(*store_, again->images[0].target))[1].digest, layer.digest);
  ExpectStoreConsistent(*store_);
}

// A minimal valid OCI layout: config, one layer, manifest, index.json naming it "v1".
struct Oci {
  Descriptor config{.media_type = kMediaTypeOciConfig,
                    .digest = content::Digester::FromBytes(kConfig)};
  Descriptor layer{.media_type = kMediaTypeOciLayer,
                   .digest = content::Digester::FromBytes("layer")};
  std::string manifest;
  Descriptor manifest_desc{.digest = content::Digester::FromBytes("")};
  std::string index;
  static constexpr char kConfig[] = R"({"architecture":"amd64","os":"linux"})";

  explicit Oci(Annotations annotations = {{kAnnotationRefName, "v1"}}) {
    config.size = static_cast<int64_t>(std::string(kConfig).size());
    layer.size = 5;
    manifest = MarshalManifest(
        Manifest{.media_type = kMediaTypeOciManifest, .config = config, .layers = {layer}});
    manifest_desc = Descriptor{.media_type = kMediaTypeOciManifest,
                               .digest = content::Digester::FromBytes(manifest),
                               .size = static_cast<int64_t>(manifest.size()),
                               .annotations = std::move(annotations)};
    index = MarshalIndex(Index{.manifests = {manifest_desc}});
  }
  std::vector<Member> Members() const {
    return {{"oci-layout", R"({"imageLayoutVersion":"1.0.0"})"},
            {"index.json", index},
            {"blobs", "", Member::kDir},
            {BlobName(config.digest), kConfig},
            {BlobName(layer.digest), "layer"},
            {BlobName(manifest_desc.digest), manifest}};
  }
};

TEST_F(ArchiveTest, NamesOciImagesFromAnnotations) {
  absl::StatusOr<ImportResult> r = ImportBytes(testing::MakeTar(Oci().Members()));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].name, "v1");
  EXPECT_EQ(r->index.digest, content::Digester::FromBytes(Oci().index));
  r = ImportBytes(testing::MakeTar(Oci().Members()),
                  ImportOptions{.ref_translator = AddRefPrefix("import-x")});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].name, "import-x:v1");
  Oci named({{kAnnotationImageName, "example.com/a:b"}, {kAnnotationRefName, "b"}});
  r = ImportBytes(testing::MakeTar(named.Members()));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].name, "example.com/a:b");
  r = ImportBytes(testing::MakeTar(Oci(Annotations{}).Members()));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->images[0].name, "");
}

struct BadArchive {
  std::string what;
  std::string bytes;
  std::string message;
};

TEST_F(ArchiveTest, RejectsMalformedArchives) {
  Oci oci;
  auto with = [&](std::function<void(std::vector<Member>&)> edit) {
    std::vector<Member> m = oci.Members();
    edit(m);
    return testing::MakeTar(m);
  };
  std::string tag = oci.manifest_desc.digest.str();
  std::vector<BadArchive> cases = {
      {"garbage", std::string(4096, 'x'), "unrecognized image format"},
      {"empty", "", "unrecognized image format"},
      {"plain tar", testing::MakeTar({{"hello.txt", "hi"}}), "unrecognized image format"},
      {"traversal", with([](auto& m) {
         m.push_back({"../evil", "x"});
       }),
       "path traversal"},
      {"inner traversal", with([](auto& m) {
         m.push_back({"blobs/../../evil", "x"});
       }),
       "path traversal"},
      {"absolute", with([](auto& m) {
         m.push_back({"/etc/passwd", "x"});
       }),
       "invalid name"},
      {"escaping symlink", with([](auto& m) {
         m.push_back({"a/l", "../../x", Member::kSymlink});
       }),
       "leaves the archive"},
      {"absolute symlink", with([](auto& m) {
         m.push_back({"l", "/x", Member::kSymlink});
       }),
       "symlink target must be relative"},
      {"escaping hard link", with([](auto& m) {
         m.push_back({"h", "../x", Member::kHardlink});
       }),
       "path traversal"},
      {"no index.json", with([](auto& m) { m.erase(m.begin() + 1); }), "missing index.json"},
      {"bad index.json", with([](auto& m) { m[1].data = "{"; }),
       "invalid index index.json: malformed JSON"},
      {"version", with([](auto& m) { m[0].data = R"({"imageLayoutVersion":"2.0.0"})"; }),
       "unsupported OCI version 2.0.0"},
      {"missing manifest", with([](auto& m) { m.pop_back(); }),
       absl::StrCat("index.json references ", tag, " (", kMediaTypeOciManifest,
                    "), which is not in the archive")},
      {"missing layer", with([](auto& m) { m.erase(m.begin() + 4); }),
       absl::StrCat("manifest ", tag, " references ", oci.layer.digest.str())},
      {"wrong size", with([&](auto& m) {
         m[1].data = MarshalIndex(Index{.manifests = {oci.manifest_desc}});
         std::string from = absl::StrCat("\"size\":", oci.manifest_desc.size);
         m[1].data.replace(m[1].data.find(from), from.size(), "\"size\":9");
       }),
       "with size 9"},
      {"docker missing layer",
       testing::MakeTar({{"cfg.json", "{}"},
                         {"manifest.json", R"([{"Config":"cfg.json","Layers":["x/layer.tar"]}])"}}),
       "layer \"x/layer.tar\" not found"},
      {"docker bad manifest.json", testing::MakeTar({{"manifest.json", "{]"}}),
       "invalid manifest.json: malformed JSON"},
      {"docker bad tag",
       testing::MakeTar({{"cfg.json", "{}"},
                         {"manifest.json", R"([{"Config":"cfg.json","RepoTags":["A:B"]}])"}}),
       "normalize image ref \"A:B\""},
  };
  int n = 0;
  for (const BadArchive& c : cases) {
    // A fresh store each time: blobs a failed import committed would satisfy later checks.
    store_ = OpenStore(absl::StrCat("bad-", ++n));
    absl::StatusOr<ImportResult> r = ImportBytes(c.bytes);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument)
        << c.what << ": " << r.status();
    EXPECT_THAT(Msg(r.status()), HasSubstr(c.message)) << c.what;
    ExpectStoreConsistent(*store_);
  }
}

TEST_F(ArchiveTest, DigestMismatchCommitsNothingForTheBlob) {
  std::vector<Member> m = Oci().Members();
  berth::Digest claimed = content::Digester::FromBytes("layer");
  m[4].data = "LAYER";  // same size, other content
  absl::StatusOr<ImportResult> r = ImportBytes(testing::MakeTar(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(r.status()),
              HasSubstr(absl::StrCat("archive member \"", BlobName(claimed),
                                     "\": digest mismatch: content is ",
                                     content::Digester::FromBytes("LAYER").str())));
  EXPECT_TRUE(absl::IsNotFound(store_->Info(claimed).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Info(content::Digester::FromBytes("LAYER")).status()));
  ExpectStoreConsistent(*store_);
}

TEST_F(ArchiveTest, TruncatedArchiveFailsWithoutPartialBlobs) {
  std::string full = ReadWholeFile(Image("layers-docker.tar"));
  for (size_t cut : {full.size() / 2, full.size() / 3, size_t{700}}) {
    auto store = OpenStore(absl::StrCat("cut-", cut));
    int fd = testing::OpenBytes(dir_.path(), full.substr(0, cut));
    absl::StatusOr<ImportResult> r = ImportArchive(fd, *store);
    close(fd);
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    ExpectStoreConsistent(*store);
  }
}

TEST_F(ArchiveTest, ExportRoundTripKeepsManifestDigests) {
  for (const char* file :
       {"busybox-docker.tar", "busybox-oci.tar", "layers-docker.tar", "layers-oci.tar"}) {
    SCOPED_TRACE(file);
    auto from = OpenStore(absl::StrCat("from-", file));
    absl::StatusOr<ImportResult> in = ImportFile(Image(file), *from);
    ASSERT_TRUE(in.ok()) << in.status();
    const ImportedImage& img = in->images[0];
    absl::StatusOr<std::string> tar = Export(*from, {{.name = img.name, .target = img.target}},
                                             ExportOptions{.platform = Matcher::DefaultStrict()});
    ASSERT_TRUE(tar.ok()) << tar.status();
    EXPECT_EQ(*Export(*from, {{.name = img.name, .target = img.target}},
                      ExportOptions{.platform = Matcher::DefaultStrict()}),
              *tar)
        << "export is reproducible";

    std::vector<std::string> order;
    std::map<std::string, std::string> members = ReadTar(*tar, &order);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
    EXPECT_EQ(members.at("oci-layout"), R"({"imageLayoutVersion":"1.0.0"})");
    EXPECT_TRUE(members.contains("blobs/"));
    EXPECT_TRUE(members.contains("blobs/sha256/"));
    absl::StatusOr<Index> index = ParseIndex(members.at("index.json"), "index.json");
    ASSERT_TRUE(index.ok()) << index.status();
    ASSERT_EQ(index->manifests.size(), 1u);
    EXPECT_EQ(index->manifests[0].annotations.at(kAnnotationImageName), img.name);
    EXPECT_EQ(index->manifests[0].annotations.at(kAnnotationRefName), "latest");
    ResolvedManifest m = *ResolveManifest(*from, img.target, Matcher::All());
    std::string want_docker =
        absl::StrCat(R"([{"Config":")", BlobName(m.manifest.config.digest), R"(","RepoTags":[")",
                     *FamiliarizeReference(img.name), R"("],"Layers":[)");
    for (size_t i = 0; i < m.manifest.layers.size(); ++i) {
      absl::StrAppend(&want_docker, i > 0 ? "," : "", "\"", BlobName(m.manifest.layers[i].digest),
                      "\"");
    }
    EXPECT_EQ(members.at("manifest.json"), absl::StrCat(want_docker, "]}]"));
    for (const Descriptor& l : m.manifest.layers) {
      EXPECT_EQ(content::Digester::FromBytes(members.at(BlobName(l.digest))), l.digest);
    }

    auto to = OpenStore(absl::StrCat("to-", file));
    int fd = testing::OpenBytes(dir_.path(), *tar);
    absl::StatusOr<ImportResult> back = ImportArchive(fd, *to);
    close(fd);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->images.size(), 1u);
    EXPECT_EQ(back->images[0].name, img.name);
    EXPECT_EQ(back->images[0].target.digest, img.target.digest);
    EXPECT_TRUE(Check(*to, back->index, Matcher::Default())->missing.empty());
    ExpectStoreConsistent(*to);
  }
}

TEST_F(ArchiveTest, ExportsIndexesPerPlatform) {
  Oci amd;  // linux/amd64
  std::string arm_config = R"({"architecture":"arm64","os":"linux"})";
  Descriptor arm_cfg = Put(*store_, arm_config, kMediaTypeOciConfig);
  Descriptor arm_layer = Put(*store_, "arm layer", kMediaTypeOciLayerGzip);
  Descriptor arm =
      Put(*store_,
          MarshalManifest(Manifest{
              .media_type = kMediaTypeOciManifest, .config = arm_cfg, .layers = {arm_layer}}),
          kMediaTypeOciManifest);
  arm.platform = Platform{.os = "linux", .architecture = "arm64"};
  Put(*store_, Oci::kConfig, kMediaTypeOciConfig);
  Put(*store_, "layer", kMediaTypeOciLayer);
  Descriptor amd_m = Put(*store_, amd.manifest, kMediaTypeOciManifest);
  amd_m.platform = Platform{.os = "linux", .architecture = "amd64"};
  Descriptor index =
      Put(*store_, MarshalIndex(Index{.manifests = {arm, amd_m}}), kMediaTypeOciIndex);
  std::vector<ExportImage> images = {{.name = "example.com/multi:1", .target = index}};

  Matcher amd64 = Matcher::OnlyStrict(Platform{.os = "linux", .architecture = "amd64"});
  absl::StatusOr<std::string> one = Export(*store_, images, ExportOptions{.platform = amd64});
  ASSERT_TRUE(one.ok()) << one.status();
  std::map<std::string, std::string> members = ReadTar(*one);
  EXPECT_TRUE(members.contains(BlobName(index.digest)));
  EXPECT_TRUE(members.contains(BlobName(amd_m.digest)));
  EXPECT_FALSE(members.contains(BlobName(arm.digest)));
  EXPECT_FALSE(members.contains(BlobName(arm_layer.digest)));
  EXPECT_THAT(members.at("manifest.json"),
              HasSubstr(absl::StrCat(R"("Config":")", BlobName(amd.config.digest),
                                     R"(","RepoTags":["example.com/multi:1"])")));
  // What was exported for one platform imports, the other platform's manifest left out.
  auto other = OpenStore("other");
  int fd = testing::OpenBytes(dir_.path(), *one);
  absl::StatusOr<ImportResult> back = ImportArchive(fd, *other);
  close(fd);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->images[0].target.digest, index.digest);
  EXPECT_EQ(ResolveManifest(*other, index, amd64)->descriptor.digest, amd_m.digest);

  absl::StatusOr<std::string> all =
      Export(*store_, images, ExportOptions{.platform = amd64, .all_platforms = true});
  EXPECT_TRUE(ReadTar(*all).contains(BlobName(arm_layer.digest)));
  absl::StatusOr<std::string> unfiltered = Export(*store_, images);
  EXPECT_TRUE(ReadTar(*unfiltered).contains(BlobName(arm_layer.digest)));
  EXPECT_FALSE(ReadTar(*unfiltered).contains("manifest.json"));  // no platform: no docker entry
  absl::StatusOr<std::string> skipped =
      Export(*store_, images, ExportOptions{.platform = amd64, .skip_docker_manifest = true});
  EXPECT_FALSE(ReadTar(*skipped).contains("manifest.json"));

  absl::StatusOr<std::string> none =
      Export(*store_, images,
             ExportOptions{
                 .platform = Matcher::OnlyStrict(Platform{.os = "linux", .architecture = "386"})});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(none.status()), HasSubstr("no manifest found for platform linux/386"));
}

TEST_F(ArchiveTest, ExportErrors) {
  Oci oci;
  Put(*store_, Oci::kConfig, kMediaTypeOciConfig);
  Descriptor m = Put(*store_, oci.manifest, kMediaTypeOciManifest);
  // The layer is missing: nothing may be written.
  absl::StatusOr<std::string> missing = Export(*store_, {{.name = "x.io/a:b", .target = m}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Msg(missing.status()), HasSubstr(oci.layer.digest.str()));

  Descriptor layer = Put(*store_, "layer", kMediaTypeOciLayer);
  absl::StatusOr<std::string> bad = Export(*store_, {{.name = "", .target = layer}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Msg(bad.status()), HasSubstr("only manifests may be exported"));
  EXPECT_EQ(Export(*store_, {}).status().code(), absl::StatusCode::kInvalidArgument);

  // Non-distributable layers can be left out, and such an archive imports.
  std::string foreign_manifest = MarshalManifest(
      Manifest{.media_type = kMediaTypeOciManifest,
               .config = oci.config,
               .layers = {Descriptor{.media_type = kMediaTypeOciLayerNonDistributableGzip,
                                     .digest = content::Digester::FromBytes("foreign"),
                                     .size = 7}}});
  Descriptor fm = Put(*store_, foreign_manifest, kMediaTypeOciManifest);
  absl::StatusOr<std::string> tar = Export(*store_, {{.name = "x.io/f:1", .target = fm}},
                                           ExportOptions{.skip_non_distributable = true});
  ASSERT_TRUE(tar.ok()) << tar.status();
  EXPECT_FALSE(ReadTar(*tar).contains(BlobName(content::Digester::FromBytes("foreign"))));
  auto other = OpenStore("other");
  int fd = testing::OpenBytes(dir_.path(), *tar);
  absl::StatusOr<ImportResult> back = ImportArchive(fd, *other);
  close(fd);
  EXPECT_TRUE(back.ok()) << back.status();
}

}  // namespace
}  // namespace berth::images
