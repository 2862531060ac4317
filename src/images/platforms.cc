#include "images/platforms.h"

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace berth::images {
namespace {

// Go's runtime.GOOS / runtime.GOARCH for the platform berth was compiled for.
constexpr char kHostOs[] = "linux";
constexpr char kHostArch[] =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__arm__)
    "arm";
#elif defined(__i386__)
    "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "ppc64le";
#elif defined(__powerpc64__)
    "ppc64";
#elif defined(__s390x__)
    "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#elif defined(__loongarch64)
    "loong64";
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    "mips64le";
#elif defined(__mips64)
    "mips64";
#else
    "unknown";
#endif

bool IsKnownOs(absl::string_view os) {
  static constexpr absl::string_view kKnown[] = {
      "aix",   "android", "darwin", "dragonfly", "freebsd", "hurd",    "illumos", "ios", "js",
      "linux", "nacl",    "netbsd", "openbsd",   "plan9",   "solaris", "windows", "zos"};
  for (absl::string_view k : kKnown) {
    if (os == k) return true;
  }
  return false;
}

bool IsKnownArch(absl::string_view arch) {
  static constexpr absl::string_view kKnown[] = {
      "386",     "amd64",   "amd64p32", "arm",    "armbe",  "arm64",    "arm64be",   "ppc64",
      "ppc64le", "loong64", "mips",     "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le",
      "ppc",     "riscv",   "riscv64",  "s390",   "s390x",  "sparc",    "sparc64",   "wasm"};
  for (absl::string_view k : kKnown) {
    if (arch == k) return true;
  }
  return false;
}

std::string NormalizeOs(absl::string_view os) {
  if (os.empty()) return kHostOs;
  std::string out = absl::AsciiStrToLower(os);
  if (out == "macos") out = "darwin";
  return out;
}

void NormalizeArch(std::string& arch, std::string& variant) {
  arch = absl::AsciiStrToLower(arch);
  variant = absl::AsciiStrToLower(variant);
  if (arch == "i386") {
    arch = "386";
    variant.clear();
  } else if (arch == "x86_64" || arch == "x86-64" || arch == "amd64") {
    arch = "amd64";
    if (variant == "v1") variant.clear();
  } else if (arch == "aarch64" || arch == "arm64") {
    arch = "arm64";
    if (variant == "8" || variant == "v8") variant.clear();
  } else if (arch == "armhf") {
    arch = "arm";
    variant = "v7";
  } else if (arch == "armel") {
    arch = "arm";
    variant = "v6";
  } else if (arch == "arm") {
    if (variant.empty() || variant == "7") {
      variant = "v7";
    } else if (variant == "5" || variant == "6" || variant == "8") {
      variant = absl::StrCat("v", variant);
    }
  }
}

bool ValidComponent(absl::string_view part) {
  if (part.empty()) return false;
  for (char c : part) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-') return false;
  }
  return true;
}

// The value of the first "key : value" line of /proc/cpuinfo whose key equals `key` ignoring
// case; empty if none.
std::string CpuInfoField(absl::string_view cpuinfo, absl::string_view key) {
  for (absl::string_view line : absl::StrSplit(cpuinfo, '\n')) {
    std::vector<absl::string_view> kv = absl::StrSplit(line, absl::MaxSplits(':', 1));
    if (kv.size() == 2 && absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(kv[0]), key)) {
      // containerd splits on every ':' and keeps the second field only.
      return std::string(absl::StripAsciiWhitespace(
          std::vector<absl::string_view>(absl::StrSplit(kv[1], ':'))[0]));
    }
  }
  return "";
}

// The number N in "vN", if that is what `variant` is.
bool VariantNumber(absl::string_view variant, int* n) {
  absl::ConsumePrefix(&variant, "v");
  return absl::SimpleAtoi(variant, n);
}

// containerd's platformVector: `p` and the platforms a host of `p` also runs, best first.
std::vector<Platform> PlatformVector(const Platform& p) {
  std::vector<Platform> out{p};
  auto with = [&p](absl::string_view arch, std::string variant) {
    Platform q = p;
    q.architecture = std::string(arch);
    q.variant = std::move(variant);
    return q;
  };
  int n = 0;
  if (p.architecture == "amd64") {
    if (VariantNumber(p.variant, &n) && n > 1) {
      for (--n; n >= 1; --n) out.push_back(with("amd64", absl::StrCat("v", n)));
    }
    out.push_back(with("386", ""));
  } else if (p.architecture == "arm") {
    if (VariantNumber(p.variant, &n) && n > 5) {
      for (--n; n >= 5; --n) out.push_back(with("arm", absl::StrCat("v", n)));
    }
  } else if (p.architecture == "arm64") {
    std::vector<Platform> arm = PlatformVector(with("arm", p.variant.empty() ? "v8" : p.variant));
    out.insert(out.end(), arm.begin(), arm.end());
  }
  return out;
}

std::string HostCpuVariant() {
  std::string arch = kHostArch;
  if (arch != "arm" && arch != "arm64") return "";
  std::ifstream in("/proc/cpuinfo");
  std::stringstream text;
  text << in.rdbuf();
  return CpuVariantFromCpuInfo(text.str(), arch);
}

}  // namespace

std::string CpuVariantFromCpuInfo(absl::string_view cpuinfo, absl::string_view arch) {
  std::string variant = CpuInfoField(cpuinfo, "Cpu architecture");
  if (variant.empty()) return "";  // containerd logs "failure getting variant" and uses ""
  if (arch == "arm" && variant == "7") {
    std::string model = absl::AsciiStrToLower(CpuInfoField(cpuinfo, "model name"));
    if (absl::StartsWith(model, "armv6-compatible")) variant = "6";
  }
  variant = absl::AsciiStrToLower(variant);
  if (variant == "8" || variant == "aarch64") return "v8";
  if (variant == "7" || variant == "7m" || variant == "?(12)" || variant == "?(13)" ||
      variant == "?(14)" || variant == "?(15)" || variant == "?(16)" || variant == "?(17)") {
    return "v7";
  }
  if (variant == "6" || variant == "6tej") return "v6";
  if (variant == "5" || variant == "5t" || variant == "5te" || variant == "5tej") return "v5";
  if (variant == "4" || variant == "4t") return "v4";
  if (variant == "3") return "v3";
  return "unknown";
}

absl::StatusOr<Platform> ParsePlatform(absl::string_view specifier) {
  if (absl::StrContains(specifier, '*')) {
    return ErrInvalidArgument(absl::StrCat("\"", specifier, "\": wildcards not yet supported"));
  }
  std::vector<absl::string_view> parts = absl::StrSplit(specifier, '/');
  for (absl::string_view part : parts) {
    if (!ValidComponent(part)) {
      return ErrInvalidArgument(
          absl::StrCat("\"", part, "\" is an invalid component of \"", specifier,
                       "\": platform specifier component must match \"^[A-Za-z0-9_-]+$\""));
    }
  }
  Platform p;
  switch (parts.size()) {
    case 1: {
      p.os = NormalizeOs(parts[0]);
      if (IsKnownOs(p.os)) {
        p.architecture = kHostArch;
        Platform host = DefaultPlatform();
        if (p.architecture == "arm" && host.variant != "v7") p.variant = host.variant;
        return p;
      }
      p.os.clear();
      p.architecture = std::string(parts[0]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      if (IsKnownArch(p.architecture)) {
        p.os = kHostOs;
        return p;
      }
      return ErrInvalidArgument(
          absl::StrCat("\"", specifier, "\": unknown operating system or architecture"));
    }
    case 2:
      p.os = NormalizeOs(parts[0]);
      p.architecture = std::string(parts[1]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm" && p.variant == "v7") p.variant.clear();
      return p;
    case 3:
      p.os = NormalizeOs(parts[0]);
      p.architecture = std::string(parts[1]);
      p.variant = std::string(parts[2]);
      NormalizeArch(p.architecture, p.variant);
      if (p.architecture == "arm64" && p.variant.empty()) p.variant = "v8";
      return p;
  }
  return ErrInvalidArgument(absl::StrCat("\"", specifier, "\": cannot parse platform specifier"));
}

std::string FormatPlatform(const Platform& p) {
  if (p.os.empty()) return "unknown";
  // Go's path.Join: empty elements are skipped.
  std::vector<absl::string_view> parts{p.os};
  if (!p.architecture.empty()) parts.push_back(p.architecture);
  if (!p.variant.empty()) parts.push_back(p.variant);
  return absl::StrJoin(parts, "/");
}

Platform NormalizePlatform(Platform p) {
  p.os = NormalizeOs(p.os);
  NormalizeArch(p.architecture, p.variant);
  return p;
}

Platform DefaultPlatform() {
  static const std::string* variant = new std::string(HostCpuVariant());
  Platform p;
  p.os = kHostOs;
  p.architecture = kHostArch;
  p.variant = *variant;
  return p;
}

Matcher::Matcher(Kind kind, std::vector<Platform> platforms)
    : kind_(kind), platforms_(std::move(platforms)) {
  for (Platform& p : platforms_) p = NormalizePlatform(std::move(p));
}

Matcher Matcher::Only(const Platform& platform) {
  return Matcher(Kind::kOrdered, PlatformVector(NormalizePlatform(platform)));
}
Matcher Matcher::OnlyStrict(const Platform& platform) {
  return Matcher(Kind::kOrdered, {platform});
}
Matcher Matcher::Ordered(std::vector<Platform> platforms) {
  return Matcher(Kind::kOrdered, std::move(platforms));
}
Matcher Matcher::Any(std::vector<Platform> platforms) {
  return Matcher(Kind::kAny, std::move(platforms));
}
Matcher Matcher::All() { return Matcher(Kind::kAll, {}); }
Matcher Matcher::Default() { return Only(DefaultPlatform()); }
Matcher Matcher::DefaultStrict() { return OnlyStrict(DefaultPlatform()); }

size_t Matcher::Rank(const Platform& platform) const {
  Platform n = NormalizePlatform(platform);
  for (size_t i = 0; i < platforms_.size(); ++i) {
    const Platform& m = platforms_[i];
    if (m.os == n.os && m.architecture == n.architecture && m.variant == n.variant) return i;
  }
  return platforms_.size();
}

bool Matcher::Match(const Platform& platform) const {
  return kind_ == Kind::kAll || Rank(platform) < platforms_.size();
}

bool Matcher::Less(const Platform& a, const Platform& b) const {
  switch (kind_) {
    case Kind::kAll:
      return false;
    case Kind::kAny:
      return Rank(a) < platforms_.size() && Rank(b) == platforms_.size();
    case Kind::kOrdered:
      return Rank(a) < Rank(b);
  }
  return false;
}

std::string Matcher::String() const {
  if (kind_ == Kind::kAll) return "all";
  return absl::StrJoin(platforms_, ",",
                       [](std::string* out, const Platform& p) { out->append(FormatPlatform(p)); });
}

}  // namespace berth::images
