// Platform specifiers ("linux/arm64/v8") and platform matching, as containerd's platforms
// package: parsing and normalisation (x86_64 -> amd64, aarch64 -> arm64, armhf -> arm/v7, ...),
// the host's default platform, and matchers that both select and order platforms (Only,
// OnlyStrict, Ordered, Any, All).
//
// A Platform here is images::Platform (types.h). Normalisation follows containerd exactly,
// including its quirks: an empty OS becomes the host's ("linux"), "arm" without a variant is
// "arm/v7", and arm64's "v8" variant is dropped ("arm64/v8" == "arm64").
//
// Thread-safety: pure functions and immutable values; DefaultPlatform() reads /proc/cpuinfo once
// (on ARM hosts only) and caches the result thread-safely.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "images/types.h"

namespace berth::images {

// Parses a specifier: "os", "arch", "os/arch" or "os/arch/variant"; each part matches
// [A-Za-z0-9_-]+. A lone known OS gets the host's architecture, a lone known architecture the
// host's OS. The result is normalised (except that "os/arm64" keeps no variant and
// "os/arm64/v8" keeps "v8", as containerd). InvalidArgument for anything else, wildcards
// included.
absl::StatusOr<Platform> ParsePlatform(absl::string_view specifier);

// "os/arch[/variant]"; "unknown" when the OS is empty.
std::string FormatPlatform(const Platform& platform);

// Lower-cases and canonicalises OS, architecture and variant.
Platform NormalizePlatform(Platform platform);

// The host: linux/<compiled architecture>, with the CPU variant on ARM (from /proc/cpuinfo, as
// containerd's cpuVariant: "v8" on arm64, "v7"/"v6"/... on arm).
Platform DefaultPlatform();

// The ARM variant /proc/cpuinfo text shows for Go architecture `arch` ("arm" or "arm64"):
// "v8", "v7", ... "unknown"; "" when the field is missing. Exposed for tests.
std::string CpuVariantFromCpuInfo(absl::string_view cpuinfo, absl::string_view arch);

// Selects platforms and orders them by preference.
class Matcher {
 public:
  // Platforms the host can run, best first: the platform itself, then compatible ones
  // (amd64/vN -> lower amd64 variants -> 386; arm/vN -> arm down to v5; arm64 -> arm/v8...).
  static Matcher Only(const Platform& platform);
  // Exactly `platform` (after normalisation).
  static Matcher OnlyStrict(const Platform& platform);
  // Any of `platforms`, preferring earlier ones.
  static Matcher Ordered(std::vector<Platform> platforms);
  // Any of `platforms`, no preference between the ones that match.
  static Matcher Any(std::vector<Platform> platforms);
  // Every platform, no preference.
  static Matcher All();
  // Only(DefaultPlatform()) and OnlyStrict(DefaultPlatform()).
  static Matcher Default();
  static Matcher DefaultStrict();

  // Whether `platform` (normalised first) has the OS, architecture and variant of one of the
  // matcher's platforms. OS version and features are not compared, as in containerd.
  bool Match(const Platform& platform) const;
  // Whether `a` is preferred over `b`.
  bool Less(const Platform& a, const Platform& b) const;

  // For messages: the platforms, formatted, comma-separated ("all" for All()).
  std::string String() const;

 private:
  enum class Kind { kOrdered, kAny, kAll };
  Matcher(Kind kind, std::vector<Platform> platforms);
  // The index of the first of platforms_ that matches `p`, or platforms_.size().
  size_t Rank(const Platform& p) const;

  Kind kind_;
  std::vector<Platform> platforms_;  // normalised
};

}  // namespace berth::images
