#include "images/platforms.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "images/test_util.h"

namespace berth::images {
namespace {

using testing::Msg;

Platform P(std::string os, std::string arch, std::string variant = "") {
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

Platform MustParse(const std::string& s) {
  absl::StatusOr<Platform> p = ParsePlatform(s);
  EXPECT_TRUE(p.ok()) << s << ": " << p.status();
  return p.ok() ? *p : Platform{};
}

std::string HostArch() { return DefaultPlatform().architecture; }

// containerd's TestParseSelector (platforms_test.go), for an amd64 or arm64 host.
TEST(PlatformsTest, ParseTable) {
  struct Case {
    std::string input;
    Platform expected;
    std::vector<Platform> matches;
    std::string formatted;
  };
  std::string arch = HostArch();
  std::vector<Case> cases = {
      {"linux/arm64",
       P("linux", "arm64"),
       {P("linux", "aarch64"), P("linux", "aarch64", "v8"), P("linux", "arm64", "v8")},
       "linux/arm64"},
      {"linux/arm64/v8",
       P("linux", "arm64", "v8"),
       {P("linux", "aarch64"), P("linux", "aarch64", "v8"), P("linux", "arm64")},
       "linux/arm64/v8"},
      {"linux/arm",
       P("linux", "arm"),
       {P("linux", "arm", "v7"), P("linux", "armhf"), P("linux", "arm", "7")},
       "linux/arm"},
      {"linux/arm/v6", P("linux", "arm", "v6"), {P("linux", "armel")}, "linux/arm/v6"},
      {"linux/arm/v7",
       P("linux", "arm", "v7"),
       {P("linux", "arm"), P("linux", "armhf")},
       "linux/arm/v7"},
      {"arm", P("linux", "arm"), {}, "linux/arm"},
      {"armel", P("linux", "arm", "v6"), {}, "linux/arm/v6"},
      {"armhf", P("linux", "arm"), {}, "linux/arm"},
      {"Aarch64", P("linux", "arm64"), {}, "linux/arm64"},
      {"x86_64", P("linux", "amd64"), {}, "linux/amd64"},
      {"Linux/x86_64", P("linux", "amd64"), {}, "linux/amd64"},
      {"i386", P("linux", "386"), {}, "linux/386"},
      {"linux",
       P("linux", arch, arch == "arm" ? DefaultPlatform().variant : ""),
       {},
       FormatPlatform(P("linux", arch))},
      {"s390x", P("linux", "s390x"), {}, "linux/s390x"},
      {"linux/s390x", P("linux", "s390x"), {}, "linux/s390x"},
      {"macOS", P("darwin", arch), {}, FormatPlatform(P("darwin", arch))},
      {"windows/amd64", P("windows", "amd64"), {}, "windows/amd64"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.input);
    Platform p = MustParse(c.input);
    EXPECT_EQ(p, c.expected);
    Matcher m = Matcher::OnlyStrict(p);
    EXPECT_TRUE(m.Match(c.expected));
    for (const Platform& other : c.matches) EXPECT_TRUE(m.Match(other)) << FormatPlatform(other);
    EXPECT_EQ(FormatPlatform(p), c.formatted);
    EXPECT_EQ(FormatPlatform(MustParse(FormatPlatform(p))), c.formatted);
  }
}

TEST(PlatformsTest, ParseRejects) {
  for (const char* bad : {"", "/linux/arm", "linux/arm/", "linux /arm", "linux/&arm",
                          "linux/arm/foo/bar", "*", "linux/*", "nosuchthing"}) {
    absl::StatusOr<Platform> p = ParsePlatform(bad);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_THAT(Msg(ParsePlatform("linux/*").status()),
              ::testing::HasSubstr("wildcards not yet supported"));
}

TEST(PlatformsTest, Normalize) {
  EXPECT_EQ(NormalizePlatform(P("", "x86-64", "v1")), P("linux", "amd64"));
  EXPECT_EQ(NormalizePlatform(P("Linux", "AMD64", "V3")), P("linux", "amd64", "v3"));
  EXPECT_EQ(NormalizePlatform(P("linux", "aarch64", "8")), P("linux", "arm64"));
  EXPECT_EQ(NormalizePlatform(P("linux", "arm64", "v9")), P("linux", "arm64", "v9"));
  EXPECT_EQ(NormalizePlatform(P("linux", "armhf", "v5")), P("linux", "arm", "v7"));
  EXPECT_EQ(NormalizePlatform(P("linux", "arm", "6")), P("linux", "arm", "v6"));
  EXPECT_EQ(NormalizePlatform(P("linux", "arm", "")), P("linux", "arm", "v7"));
  EXPECT_EQ(NormalizePlatform(P("linux", "i386", "x")), P("linux", "386"));
  EXPECT_EQ(NormalizePlatform(P("macos", "arm64")), P("darwin", "arm64"));
  EXPECT_EQ(FormatPlatform(Platform{}), "unknown");
}

struct MatchCase {
  std::string platform;
  std::vector<std::string> match;
  std::vector<std::string> no_match;
};

void CheckMatches(const std::vector<MatchCase>& cases, Matcher (*make)(const Platform&)) {
  for (const MatchCase& c : cases) {
    Matcher m = make(MustParse(c.platform));
    for (const std::string& s : c.match) {
      EXPECT_TRUE(m.Match(MustParse(s))) << c.platform << " should match " << s;
    }
    for (const std::string& s : c.no_match) {
      EXPECT_FALSE(m.Match(MustParse(s))) << c.platform << " should not match " << s;
    }
  }
}

// containerd's TestOnly (compare_test.go).
TEST(PlatformsTest, Only) {
  CheckMatches(
      {
          {"linux/amd64",
           {"linux/amd64", "linux/386"},
           {"linux/amd64/v2", "linux/arm/v7", "linux/arm64", "windows/amd64", "windows/arm"}},
          {"linux/amd64/v2",
           {"linux/amd64", "linux/amd64/v1", "linux/amd64/v2", "linux/386"},
           {"linux/amd64/v3", "linux/amd64/v4", "linux/arm/v7", "linux/arm64", "windows/amd64"}},
          {"linux/386", {"linux/386"}, {"linux/amd64", "linux/arm/v7", "linux/arm64"}},
          {"windows/amd64", {"windows/amd64"}, {"linux/amd64", "linux/arm/v7", "windows/arm"}},
          {"linux/arm/v8",
           {"linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8"},
           {"linux/amd64", "linux/arm/v4", "linux/arm64", "windows/arm"}},
          {"linux/arm/v7",
           {"linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7"},
           {"linux/amd64", "linux/arm/v4", "linux/arm/v8", "linux/arm64", "windows/arm"}},
          {"linux/arm/v6",
           {"linux/arm/v5", "linux/arm/v6"},
           {"linux/amd64", "linux/arm", "linux/arm/v4", "linux/arm/v7", "linux/arm/v8"}},
          {"linux/arm/v5", {"linux/arm/v5"}, {"linux/arm", "linux/arm/v4", "linux/arm/v6"}},
          {"linux/arm/v4", {"linux/arm/v4"}, {"linux/arm", "linux/arm/v5", "linux/arm/v6"}},
          {"linux/arm64",
           {"linux/arm", "linux/arm/v5", "linux/arm/v6", "linux/arm/v7", "linux/arm/v8",
            "linux/arm64", "linux/arm64/v8"},
           {"linux/amd64", "linux/arm/v4", "linux/arm/v9", "linux/arm64/v9", "windows/amd64"}},
      },
      &Matcher::Only);
}

// containerd's TestOnlyStrict.
TEST(PlatformsTest, OnlyStrict) {
  CheckMatches(
      {
          {"linux/amd64", {"linux/amd64"}, {"linux/386", "linux/arm/v7", "linux/arm64"}},
          {"linux/386", {"linux/386"}, {"linux/amd64"}},
          {"linux/arm/v8", {"linux/arm/v8"}, {"linux/arm", "linux/arm/v7", "linux/arm64"}},
          {"linux/arm/v7", {"linux/arm", "linux/arm/v7"}, {"linux/arm/v5", "linux/arm/v8"}},
          {"linux/arm64",
           {"linux/arm64", "linux/arm64/v8"},
           {"linux/arm", "linux/arm/v8", "linux/arm64/v9"}},
      },
      &Matcher::OnlyStrict);
}

TEST(PlatformsTest, OrderedPrefersEarlierPlatforms) {
  Matcher m = Matcher::Only(P("linux", "arm", "v7"));
  EXPECT_TRUE(m.Less(P("linux", "arm", "v7"), P("linux", "arm", "v6")));
  EXPECT_TRUE(m.Less(P("linux", "arm", "v6"), P("linux", "arm", "v5")));
  EXPECT_FALSE(m.Less(P("linux", "arm", "v5"), P("linux", "arm", "v6")));
  EXPECT_TRUE(m.Less(P("linux", "arm", "v5"), P("linux", "amd64")));  // match beats no match
  EXPECT_FALSE(m.Less(P("linux", "amd64"), P("linux", "386")));       // neither matches
  EXPECT_FALSE(m.Less(P("linux", "arm"), P("linux", "arm", "v7")));   // equal after normalising

  Matcher amd = Matcher::Only(P("linux", "amd64", "v3"));
  EXPECT_TRUE(amd.Less(P("linux", "amd64", "v2"), P("linux", "amd64")));
  EXPECT_TRUE(amd.Less(P("linux", "amd64", "v1"), P("linux", "386")));
  EXPECT_FALSE(amd.Match(P("linux", "amd64", "v4")));

  Matcher ordered = Matcher::Ordered({P("linux", "arm64"), P("linux", "amd64")});
  EXPECT_TRUE(ordered.Less(P("linux", "aarch64"), P("linux", "amd64")));
  EXPECT_FALSE(ordered.Less(P("linux", "amd64"), P("linux", "arm64")));
  EXPECT_EQ(ordered.String(), "linux/arm64,linux/amd64");
}

TEST(PlatformsTest, AnyAndAll) {
  Matcher any = Matcher::Any({P("linux", "arm64"), P("linux", "amd64")});
  EXPECT_TRUE(any.Match(P("linux", "amd64")));
  EXPECT_FALSE(any.Match(P("linux", "386")));
  EXPECT_FALSE(any.Less(P("linux", "arm64"), P("linux", "amd64")));
  EXPECT_FALSE(any.Less(P("linux", "amd64"), P("linux", "arm64")));
  EXPECT_TRUE(any.Less(P("linux", "amd64"), P("linux", "386")));

  Matcher all = Matcher::All();
  EXPECT_TRUE(all.Match(P("plan9", "mips")));
  EXPECT_FALSE(all.Less(P("linux", "amd64"), P("linux", "386")));
  EXPECT_EQ(all.String(), "all");
}

TEST(PlatformsTest, DefaultIsThisHost) {
  Platform host = DefaultPlatform();
  EXPECT_EQ(host.os, "linux");
#if defined(__x86_64__)
  EXPECT_EQ(host.architecture, "amd64");
  EXPECT_EQ(host.variant, "");  // containerd detects variants on ARM only
#elif defined(__aarch64__)
  EXPECT_EQ(host.architecture, "arm64");
#endif
  EXPECT_TRUE(Matcher::Default().Match(host));
  EXPECT_TRUE(Matcher::DefaultStrict().Match(host));
  if (host.architecture == "amd64") {
    EXPECT_TRUE(Matcher::Default().Match(P("linux", "386")));
    EXPECT_FALSE(Matcher::DefaultStrict().Match(P("linux", "386")));
  }
}

TEST(PlatformsTest, CpuVariantFromCpuInfo) {
  EXPECT_EQ(CpuVariantFromCpuInfo("processor\t: 0\nCPU architecture: 8\n", "arm64"), "v8");
  EXPECT_EQ(CpuVariantFromCpuInfo("CPU architecture: AArch64\n", "arm64"), "v8");
  EXPECT_EQ(CpuVariantFromCpuInfo("model name : ARMv7 Processor rev 4 (v7l)\nCPU architecture: 7\n",
                                  "arm"),
            "v7");
  EXPECT_EQ(CpuVariantFromCpuInfo("model name : ARMv6-compatible processor\nCPU architecture: 7\n",
                                  "arm"),
            "v6");
  EXPECT_EQ(CpuVariantFromCpuInfo("CPU architecture: 5TEJ\n", "arm"), "v5");
  EXPECT_EQ(CpuVariantFromCpuInfo("CPU architecture: 9\n", "arm64"), "unknown");
  EXPECT_EQ(CpuVariantFromCpuInfo("flags : fpu\n", "arm64"), "");
}

}  // namespace
}  // namespace berth::images
