#include "images/reference.h"

#include <re2/re2.h>

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace berth::images {
namespace {

constexpr size_t kNameTotalLengthMax = 255;
constexpr char kDefaultDomain[] = "docker.io";
constexpr char kLegacyDefaultDomain[] = "index.docker.io";
constexpr char kOfficialRepoName[] = "library";
constexpr char kDefaultTag[] = "latest";

// The grammar of distribution/reference, as RE2 patterns (Go's regexp is RE2 as well).
#define BERTH_ALNUM "[a-z0-9]+"
#define BERTH_SEPARATOR "(?:[._]|__|[-]*)"
#define BERTH_NAME_COMPONENT BERTH_ALNUM "(?:(?:" BERTH_SEPARATOR BERTH_ALNUM ")+)?"
#define BERTH_DOMAIN_COMPONENT "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define BERTH_DOMAIN BERTH_DOMAIN_COMPONENT "(?:(?:\\." BERTH_DOMAIN_COMPONENT ")+)?(?::[0-9]+)?"
#define BERTH_TAG "[\\w][\\w.-]{0,127}"
#define BERTH_DIGEST "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}"
#define BERTH_NAME \
  "(?:" BERTH_DOMAIN "/)?" BERTH_NAME_COMPONENT "(?:(?:/" BERTH_NAME_COMPONENT ")+)?"

const RE2& ReferenceRe() {
  static const RE2* re = new RE2("^(" BERTH_NAME ")(?::(" BERTH_TAG "))?(?:@(" BERTH_DIGEST "))?$");
  return *re;
}
const RE2& AnchoredNameRe() {
  static const RE2* re = new RE2("^(?:(" BERTH_DOMAIN ")/)?(" BERTH_NAME_COMPONENT
                                 "(?:(?:/" BERTH_NAME_COMPONENT ")+)?)$");
  return *re;
}
const RE2& IdentifierRe() {
  static const RE2* re = new RE2("^[a-f0-9]{64}$");
  return *re;
}

struct Reference {
  std::string domain, path, tag, digest;

  std::string Name() const { return domain.empty() ? path : absl::StrCat(domain, "/", path); }
  std::string String() const {
    std::string out = Name();
    if (!tag.empty()) absl::StrAppend(&out, ":", tag);
    if (!digest.empty()) absl::StrAppend(&out, "@", digest);
    return out;
  }
};

// reference.Parse: `s` against the full grammar.
absl::StatusOr<Reference> Parse(const std::string& s) {
  std::string name, tag, digest;
  if (!RE2::FullMatch(s, ReferenceRe(), &name, &tag, &digest)) {
    if (s.empty())
      return absl::InvalidArgumentError("repository name must have at least one component");
    if (RE2::FullMatch(absl::AsciiStrToLower(s), ReferenceRe())) {
      return absl::InvalidArgumentError("repository name must be lowercase");
    }
    return absl::InvalidArgumentError("invalid reference format");
  }
  if (name.size() > kNameTotalLengthMax) {
    return absl::InvalidArgumentError(
        absl::StrCat("repository name must not be more than ", kNameTotalLengthMax, " characters"));
  }
  Reference ref;
  if (!RE2::FullMatch(name, AnchoredNameRe(), &ref.domain, &ref.path)) ref.path = name;
  ref.tag = std::move(tag);
  ref.digest = std::move(digest);
  if (ref.path.empty())
    return absl::InvalidArgumentError("repository name must have at least one component");
  return ref;
}

// splitDockerDomain: the domain, defaulted, and the rest ("library/" added for official images).
std::pair<std::string, std::string> SplitDockerDomain(absl::string_view name) {
  std::string domain, remainder;
  size_t i = name.find('/');
  if (i == absl::string_view::npos ||
      (name.substr(0, i).find_first_of(".:") == absl::string_view::npos &&
       name.substr(0, i) != "localhost")) {
    domain = kDefaultDomain;
    remainder = std::string(name);
  } else {
    domain = std::string(name.substr(0, i));
    remainder = std::string(name.substr(i + 1));
  }
  if (domain == kLegacyDefaultDomain) domain = kDefaultDomain;
  if (domain == kDefaultDomain && !absl::StrContains(remainder, '/')) {
    remainder = absl::StrCat(kOfficialRepoName, "/", remainder);
  }
  return {domain, remainder};
}

absl::StatusOr<Reference> ParseNormalizedNamed(absl::string_view s) {
  if (RE2::FullMatch(re2::StringPiece(s.data(), s.size()), IdentifierRe())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid repository name (", s, "), cannot specify 64-byte hexadecimal strings"));
  }
  auto [domain, remainder] = SplitDockerDomain(s);
  absl::string_view remote = remainder;
  if (size_t colon = remote.find(':'); colon != absl::string_view::npos) {
    remote = remote.substr(0, colon);
  }
  if (absl::AsciiStrToLower(remote) != remote) {
    return absl::InvalidArgumentError(
        "invalid reference format: repository name must be lowercase");
  }
  return Parse(absl::StrCat(domain, "/", remainder));
}

absl::Status Wrap(absl::string_view verb, absl::string_view ref, const absl::Status& st) {
  return ErrInvalidArgument(absl::StrCat(verb, " \"", ref, "\": ", st.message()));
}

// Whether `s` is `prefix` or starts with it followed by '/', ':' or '@'.
bool IsImagePrefix(absl::string_view s, absl::string_view prefix) {
  if (!absl::StartsWith(s, prefix)) return false;
  if (s.size() == prefix.size()) return true;
  char c = s[prefix.size()];
  return c == '/' || c == ':' || c == '@';
}

RefTranslator Translator(std::string image, bool check_prefix) {
  return [image = std::move(image), check_prefix](absl::string_view ref) -> std::string {
    if (ref.find_first_of("/:@") != absl::string_view::npos) {
      if (check_prefix && !IsImagePrefix(ref, image)) return "";
      return std::string(ref);
    }
    return absl::StrCat(image, ":", ref);
  };
}

}  // namespace

absl::StatusOr<std::string> NormalizeReference(absl::string_view ref) {
  absl::StatusOr<Reference> named = ParseNormalizedNamed(ref);
  if (!named.ok()) return Wrap("normalize image ref", ref, named.status());
  if (!named->tag.empty() && !named->digest.empty()) {
    named->tag.clear();
  } else if (named->tag.empty() && named->digest.empty()) {
    named->tag = kDefaultTag;
  }
  return named->String();
}

absl::StatusOr<std::string> FamiliarizeReference(absl::string_view ref) {
  absl::StatusOr<Reference> named = ParseNormalizedNamed(ref);
  if (!named.ok()) return Wrap("failed to parse", ref, named.status());
  if (named->tag.empty() && named->digest.empty()) named->tag = kDefaultTag;
  if (named->domain == kDefaultDomain) {
    named->domain.clear();
    std::vector<absl::string_view> parts = absl::StrSplit(named->path, '/');
    if (parts.size() == 2 && parts[0] == kOfficialRepoName) named->path = std::string(parts[1]);
  }
  return named->String();
}

std::string OciReferenceName(absl::string_view name) {
  // containerd parses "dummy://<name>" as a URL; any failure leaves the name as it is.
  if (absl::StrContains(name, "://")) return std::string(name);
  absl::string_view rest = name.substr(0, name.find_first_of("?#"));
  size_t slash = rest.find('/');
  absl::string_view host = rest.substr(0, slash);
  absl::string_view path = slash == absl::string_view::npos ? "" : rest.substr(slash);
  if (size_t at = host.rfind('@'); at != absl::string_view::npos) host = host.substr(at + 1);
  if (host.empty()) return std::string(name);
  if (size_t colon = host.rfind(':'); colon != absl::string_view::npos && host[0] != '[') {
    for (char c : host.substr(colon + 1)) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return std::string(name);
    }
  }
  size_t idx = path.find_first_of(":@");
  if (idx == absl::string_view::npos) return "";
  absl::string_view object = path.substr(idx);
  if (object[0] == ':') object.remove_prefix(1);
  return std::string(object);
}

RefTranslator AddRefPrefix(std::string image) { return Translator(std::move(image), false); }
RefTranslator FilterRefPrefix(std::string image) { return Translator(std::move(image), true); }

}  // namespace berth::images
