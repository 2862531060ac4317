#include "images/reference.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "images/test_util.h"

namespace berth::images {
namespace {

using testing::Msg;

constexpr char kDigest[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(ReferenceTest, NormalizesLikeDockerAndContainerd) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:latest", "docker.io/library/busybox:latest"},
      {"busybox:1.36.1-musl", "docker.io/library/busybox:1.36.1-musl"},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"index.docker.io/library/busybox:x", "docker.io/library/busybox:x"},
      {"foo/bar", "docker.io/foo/bar:latest"},
      {"berth.test/busybox:latest", "berth.test/busybox:latest"},
      {"quay.io/a/b/c:v1", "quay.io/a/b/c:v1"},
      {"localhost/x", "localhost/x:latest"},
      {"localhost:5000/x:y", "localhost:5000/x:y"},
      {"Registry.Example.COM/x", "Registry.Example.COM/x:latest"},
      {"my_repo/a__b.c-d", "docker.io/my_repo/a__b.c-d:latest"},
      {absl::StrCat("busybox@", kDigest), absl::StrCat("docker.io/library/busybox@", kDigest)},
      {absl::StrCat("busybox:tag@", kDigest), absl::StrCat("docker.io/library/busybox@", kDigest)},
  };
  for (const auto& [in, want] : cases) {
    absl::StatusOr<std::string> got = NormalizeReference(in);
    ASSERT_TRUE(got.ok()) << in << ": " << got.status();
    EXPECT_EQ(*got, want) << in;
  }
}

TEST(ReferenceTest, RejectsInvalidReferences) {
  std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid reference format"},
      {"Busybox", "repository name must be lowercase"},
      {"busybox::x", "invalid reference format"},
      {"a/-b", "invalid reference format"},
      {"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
       "cannot specify 64-byte hexadecimal strings"},
      {absl::StrCat("x/", std::string(260, 'a')), "must not be more than 255 characters"},
      {"busybox:" + std::string(129, 't'), "invalid reference format"},
  };
  for (const auto& [in, why] : cases) {
    absl::StatusOr<std::string> got = NormalizeReference(in);
    ASSERT_FALSE(got.ok()) << in;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(Msg(got.status()), ::testing::HasSubstr("normalize image ref")) << in;
    EXPECT_THAT(Msg(got.status()), ::testing::HasSubstr(why)) << in;
  }
}

TEST(ReferenceTest, Familiarizes) {
  EXPECT_EQ(*FamiliarizeReference("docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(*FamiliarizeReference("docker.io/library/busybox"), "busybox:latest");
  EXPECT_EQ(*FamiliarizeReference("docker.io/foo/bar:1"), "foo/bar:1");
  EXPECT_EQ(*FamiliarizeReference("docker.io/library/a/b:1"), "library/a/b:1");
  EXPECT_EQ(*FamiliarizeReference("berth.test/busybox:latest"), "berth.test/busybox:latest");
  EXPECT_EQ(*FamiliarizeReference(absl::StrCat("quay.io/x@", kDigest)),
            absl::StrCat("quay.io/x@", kDigest));
  EXPECT_FALSE(FamiliarizeReference("UPPER/x").ok());
}

TEST(ReferenceTest, OciReferenceName) {
  EXPECT_EQ(OciReferenceName("docker.io/library/busybox:latest"), "latest");
  EXPECT_EQ(OciReferenceName("berth.test/busybox:1.0"), "1.0");
  EXPECT_EQ(OciReferenceName("localhost:5000/x/y:t"), "t");
  EXPECT_EQ(OciReferenceName(absl::StrCat("quay.io/x@", kDigest)), absl::StrCat("@", kDigest));
  EXPECT_EQ(OciReferenceName(absl::StrCat("quay.io/x:t@", kDigest)), absl::StrCat("t@", kDigest));
  EXPECT_EQ(OciReferenceName("docker.io/library/busybox"), "");
  // No host part that parses: the name is kept.
  EXPECT_EQ(OciReferenceName("busybox:latest"), "busybox:latest");
  EXPECT_EQ(OciReferenceName("http://x/y:z"), "http://x/y:z");
  EXPECT_EQ(OciReferenceName("/x:y"), "/x:y");
}

TEST(ReferenceTest, Translators) {
  RefTranslator add = AddRefPrefix("import-2024-01-01");
  EXPECT_EQ(add("latest"), "import-2024-01-01:latest");
  EXPECT_EQ(add("docker.io/library/busybox:latest"), "docker.io/library/busybox:latest");
  RefTranslator filter = FilterRefPrefix("foo/bar");
  EXPECT_EQ(filter("v1"), "foo/bar:v1");
  EXPECT_EQ(filter("foo/bar:v2"), "foo/bar:v2");
  EXPECT_EQ(filter("foo/bar@sha256:x"), "foo/bar@sha256:x");
  EXPECT_EQ(filter("foo/barbaz:v2"), "");
  EXPECT_EQ(filter("other/x:v2"), "");
}

}  // namespace
}  // namespace berth::images
