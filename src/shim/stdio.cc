#include "shim/stdio.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::shim {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; in a query '+' is a space too (Go's url.QueryUnescape).
absl::StatusOr<std::string> Unescape(absl::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      int hi = i + 2 < s.size() ? HexValue(s[i + 1]) : -1;
      int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid URL escape \"", s.substr(i, 3), "\""));
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && query) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<StdioUri> ParseStdioUri(absl::string_view uri) {
  StdioUri out;
  // A scheme is a letter followed by letters, digits, '+', '-' or '.', then ':'.
  std::string scheme;
  if (!uri.empty() && absl::ascii_isalpha(uri[0])) {
    for (size_t i = 1; i < uri.size(); ++i) {
      char c = uri[i];
      if (c == ':') {
        scheme = absl::AsciiStrToLower(uri.substr(0, i));
        uri.remove_prefix(i + 1);
        break;
      }
      if (!absl::ascii_isalnum(c) && c != '+' && c != '-' && c != '.') break;
    }
  }
  if (scheme.empty() || scheme == "fifo") {
    out.scheme = StdioUri::Scheme::kFifo;
  } else if (scheme == "file") {
    out.scheme = StdioUri::Scheme::kFile;
  } else if (scheme == "binary") {
    out.scheme = StdioUri::Scheme::kBinary;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown STDIO scheme ", scheme));
  }
  if (scheme.empty()) {
    // A plain path: Go parses it as a URL too, but containerd then opens the original string.
    out.path = std::string(uri);
    return out;
  }
  absl::string_view rest = uri;
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (size_t hash = query.find('#'); hash != absl::string_view::npos) query = query.substr(0, hash);
  if (size_t hash = rest.find('#'); hash != absl::string_view::npos) rest = rest.substr(0, hash);
  if (absl::StartsWith(rest, "//")) {
    // "//host/path": the authority is not part of the path (binary:///p has an empty host).
    rest.remove_prefix(2);
    size_t slash = rest.find('/');
    rest = slash == absl::string_view::npos ? absl::string_view() : rest.substr(slash);
  }
  auto path = Unescape(rest, false);
  if (!path.ok()) return path.status();
  out.path = *std::move(path);
  if (!query.empty()) {
    for (absl::string_view pair : absl::StrSplit(query, absl::ByAnyChar("&;"), absl::SkipEmpty())) {
      absl::string_view key = pair, value;
      if (size_t eq = pair.find('='); eq != absl::string_view::npos) {
        key = pair.substr(0, eq);
        value = pair.substr(eq + 1);
      }
      auto k = Unescape(key, true);
      if (!k.ok()) return k.status();
      auto v = Unescape(value, true);
      if (!v.ok()) return v.status();
      out.args.emplace_back(*std::move(k), *std::move(v));
    }
  }
  return out;
}

std::vector<std::string> BinaryArgs(const StdioUri& uri) {
  std::vector<std::string> args;
  for (const auto& [key, value] : uri.args) {
    args.push_back(key);
    args.push_back(value);
  }
  return args;
}

}  // namespace berth::shim
