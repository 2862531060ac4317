#include "base/filters.h"

#include <re2/re2.h>

#include <cstdint>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status.h"

namespace berth::filters {

// Not in the anonymous namespace: Filter::Alternatives (external linkage) holds Selectors.
namespace internal {

enum class Operator { kPresent, kEqual, kNotEqual, kMatches };

struct Selector {
  std::vector<std::string> fieldpath;
  Operator op = Operator::kPresent;
  std::string value;
  std::unique_ptr<const RE2> re;  // compiled once at parse time, for kMatches
};

}  // namespace internal

struct Filter::Alternatives {
  std::vector<std::vector<internal::Selector>> any;
};

namespace {

using internal::Operator;
using internal::Selector;

// ---------------------------------------------------------------------------------------------
// Runes. The scanner works on Unicode code points like Go's; tokens are negative "runes".

constexpr int32_t kRuneError = 0xFFFD;
constexpr int32_t kMaxRune = 0x10FFFF;

constexpr int32_t kTokenEOF = -1;
constexpr int32_t kTokenQuoted = -2;
constexpr int32_t kTokenValue = -3;
constexpr int32_t kTokenField = -4;
constexpr int32_t kTokenSeparator = -5;
constexpr int32_t kTokenOperator = -6;
constexpr int32_t kTokenIllegal = -7;

struct Decoded {
  int32_t rune;
  size_t width;  // 0 only at the end of input
};

// Go's utf8.DecodeRuneInString: an invalid or truncated sequence decodes as (RuneError, 1).
Decoded DecodeRune(std::string_view s) {
  if (s.empty()) return {kRuneError, 0};
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t c0 = b(0);
  if (c0 < 0x80) return {c0, 1};
  size_t n;
  uint8_t lo = 0x80, hi = 0xBF;  // accepted range of the second byte
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    n = 2;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    n = 3;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    n = 4;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    return {kRuneError, 1};
  }
  if (s.size() < n || b(1) < lo || b(1) > hi) return {kRuneError, 1};
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return {kRuneError, 1};
  }
  int32_t r = c0 & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) r = (r << 6) | (b(i) & 0x3F);
  return {r, n};
}

// Go's utf8.EncodeRune: surrogates and out-of-range values encode as RuneError.
void AppendRune(std::string* out, int32_t r) {
  if (r < 0 || r > kMaxRune || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
  } else if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
  }
}

// Go's unicode.IsSpace (the White_Space property).
bool IsSpace(int32_t r) {
  if (r <= 0xFF) {
    return r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == ' ' || r == 0x85 ||
           r == 0xA0;
  }
  return r == 0x1680 || (r >= 0x2000 && r <= 0x200A) || r == 0x2028 || r == 0x2029 || r == 0x202F ||
         r == 0x205F || r == 0x3000;
}

// Go's unicode.IsGraphic (letters, marks, numbers, punctuation, symbols, spaces), which is what
// containerd's isValueRune amounts to. Exact for ASCII and Latin-1. Above that, without Unicode
// tables, every code point is taken as graphic except the format (Cf), private-use (Co),
// line/paragraph separator and noncharacter ranges; unassigned code points count as graphic.
bool IsGraphic(int32_t r) {
  if (r < 0) return false;
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  if (r < 0xA0) return false;   // C1 controls
  if (r == 0xAD) return false;  // soft hyphen (Cf)
  static constexpr std::pair<int32_t, int32_t> kNotGraphic[] = {
      {0x0600, 0x0605},   {0x061C, 0x061C},   {0x06DD, 0x06DD},    {0x070F, 0x070F},
      {0x0890, 0x0891},   {0x08E2, 0x08E2},   {0x180E, 0x180E},    {0x200B, 0x200F},
      {0x2028, 0x202E},   {0x2060, 0x2064},   {0x2066, 0x206F},    {0xD800, 0xF8FF},
      {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},    {0x110BD, 0x110BD},
      {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A},
      {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
  };
  for (const auto& [lo, hi] : kNotGraphic) {
    if (r >= lo && r <= hi) return false;
  }
  return (r & 0xFFFE) != 0xFFFE;  // U+xxFFFE and U+xxFFFF are noncharacters
}

bool IsAlpha(int32_t r) { return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'); }
bool IsDigit(int32_t r) { return r >= '0' && r <= '9'; }
// containerd 1.6's set: no '-' (later releases added it), so `labels.a-b` needs quotes.
bool IsFieldRune(int32_t r) { return r == '_' || IsAlpha(r) || IsDigit(r); }
bool IsOperatorRune(int32_t r) { return r == '=' || r == '!' || r == '~'; }
// '/' and '|' quote too, for regular expressions; the parser refuses them elsewhere.
bool IsQuoteRune(int32_t r) { return r == '/' || r == '|' || r == '"'; }
bool IsSeparatorRune(int32_t r) { return r == ',' || r == '.'; }
bool IsValueRune(int32_t r) { return r != ',' && !IsSpace(r) && IsGraphic(r); }

int DigitVal(int32_t r) {
  if (r >= '0' && r <= '9') return r - '0';
  if (r >= 'a' && r <= 'f') return r - 'a' + 10;
  if (r >= 'A' && r <= 'F') return r - 'A' + 10;
  return 16;  // larger than any legal digit
}

// The one-letter escapes of Go strings (besides the quote itself) and what they stand for.
constexpr std::string_view kEscapeLetters = "abfnrtv\\";
constexpr std::string_view kEscapeValues = "\a\b\f\n\r\t\v\\";

bool IsLetterEscape(int32_t r) {
  return r > 0 && r < 0x80 && kEscapeLetters.find(static_cast<char>(r)) != std::string_view::npos;
}

// Number of hex digits after \x, \u, \U.
size_t HexDigits(int32_t r) { return r == 'x' ? 2 : r == 'u' ? 4 : 8; }

// ---------------------------------------------------------------------------------------------
// Scanner: containerd's filters/scanner.go, state for state, so that error positions agree.
//
// `pos_` is where the last rune read starts and `ppos_` where the next one starts. After an
// operator the scanner is in "value" mode: the next token that is not a quote, separator or
// operator is a value, which may hold any graphic rune but ',' (e.g. `a.b-c`, `[abc]+`, `x=y`).

struct Token {
  size_t pos;
  int32_t token;
  std::string_view text;
};

class Scanner {
 public:
  explicit Scanner(std::string_view input) : input_(input) {}

  // Reads the next rune, or kTokenEOF / kTokenIllegal (invalid UTF-8, NUL).
  int32_t Next() {
    if (pos_ >= input_.size()) return kTokenEOF;
    pos_ = ppos_;
    Decoded d = DecodeRune(input_.substr(ppos_));
    ppos_ += d.width;
    if (d.width == 0) return kTokenEOF;
    if (d.rune == kRuneError) {
      SetError("rune error");
      return kTokenIllegal;
    }
    if (d.rune == 0) {
      SetError("unexpected null");
      return kTokenIllegal;
    }
    return d.rune;
  }

  int32_t Peek() {
    size_t pos = pos_;
    size_t ppos = ppos_;
    int32_t ch = Next();
    pos_ = pos;
    ppos_ = ppos;
    return ch;
  }

  Token Scan() {
    int32_t ch = Next();
    size_t pos = pos_;
    for (;;) {
      if (ch == kTokenEOF || ch == kTokenIllegal) break;
      if (IsQuoteRune(ch)) {
        bool ok = ScanQuoted(ch);
        return {pos, ok ? kTokenQuoted : kTokenIllegal, Text(pos)};
      }
      if (IsSeparatorRune(ch)) {
        value_ = false;
        return {pos, kTokenSeparator, Text(pos)};
      }
      if (IsOperatorRune(ch)) {
        while (IsOperatorRune(Peek())) Next();
        value_ = true;
        return {pos, kTokenOperator, Text(pos)};
      }
      if (IsSpace(ch)) {
        ch = Next();
        pos = pos_;
        continue;
      }
      if (value_) {
        while (IsValueRune(Peek())) Next();
        value_ = false;
        return {pos, kTokenValue, Text(pos)};
      }
      if (IsFieldRune(ch)) {
        while (IsFieldRune(Peek())) Next();
        return {pos, kTokenField, Text(pos)};
      }
      break;
    }
    // EOF, an illegal rune or an unexpected one: the token is the rune itself.
    return {pos_, ch, {}};
  }

  size_t ppos() const { return ppos_; }
  // The first error the scanner met (containerd keeps the first one too).
  const std::string& error() const { return err_; }

 private:
  std::string_view Text(size_t pos) const { return input_.substr(pos, ppos_ - pos); }

  void SetError(std::string_view msg) {
    if (err_.empty()) err_ = msg;
  }

  // Consumes up to the closing `quote`, validating escapes; false if illegal or unterminated.
  bool ScanQuoted(int32_t quote) {
    bool illegal = false;
    int32_t ch = Next();  // the rune after the opening quote
    while (ch != quote) {
      if (ch == '\n' || ch < 0) {
        SetError("quoted literal not terminated");
        return false;
      }
      if (ch == '\\') {
        bool legal;
        std::tie(ch, legal) = ScanEscape(quote);
        if (!legal) illegal = true;
      } else {
        ch = Next();
      }
    }
    return !illegal;
  }

  // Returns the rune after the escape sequence and whether the sequence was legal.
  std::pair<int32_t, bool> ScanEscape(int32_t quote) {
    int32_t ch = Next();  // the rune after '\'
    if (ch == quote || IsLetterEscape(ch)) return {Next(), true};
    if (ch >= '0' && ch <= '7') return ScanDigits(ch, 8, 3);
    if (ch == 'x' || ch == 'u' || ch == 'U') return ScanDigits(Next(), 16, HexDigits(ch));
    SetError("illegal escape sequence");
    return {ch, false};
  }

  std::pair<int32_t, bool> ScanDigits(int32_t ch, int base, size_t n) {
    while (n > 0 && DigitVal(ch) < base) {
      ch = Next();
      --n;
    }
    if (n > 0) {
      SetError("illegal numeric escape sequence");
      return {ch, false};
    }
    return {ch, true};
  }

  std::string_view input_;
  size_t pos_ = 0;
  size_t ppos_ = 0;
  bool value_ = false;
  std::string err_;
};

// ---------------------------------------------------------------------------------------------
// Unquoting: Go's strconv.Unquote as containerd's quote.go extends it, where '/' and '|' quote
// like '"'. Returns nullopt on "quote syntax error".

std::optional<std::string> Unquote(std::string_view s) {
  if (s.size() < 2) return std::nullopt;
  char quote = s.front();
  if (s.back() != quote) return std::nullopt;
  if (quote != '"' && quote != '/' && quote != '|') return std::nullopt;  // only these scan
  s = s.substr(1, s.size() - 2);
  if (s.find('\n') != std::string_view::npos) return std::nullopt;
  if (s.find('\\') == std::string_view::npos && s.find(quote) == std::string_view::npos) {
    return std::string(s);
  }
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    char c = s[0];
    if (c == quote) return std::nullopt;
    if (static_cast<unsigned char>(c) >= 0x80) {
      Decoded d = DecodeRune(s);
      AppendRune(&out, d.rune);
      s.remove_prefix(d.width);
      continue;
    }
    if (c != '\\') {
      out.push_back(c);
      s.remove_prefix(1);
      continue;
    }
    if (s.size() <= 1) return std::nullopt;
    char e = s[1];
    s.remove_prefix(2);
    if (IsLetterEscape(e)) {
      out.push_back(kEscapeValues[kEscapeLetters.find(e)]);
    } else if (e == 'x' || e == 'u' || e == 'U') {
      size_t n = HexDigits(e);
      if (s.size() < n) return std::nullopt;
      int32_t v = 0;
      for (size_t j = 0; j < n; ++j) {
        int x = DigitVal(static_cast<unsigned char>(s[j]));
        if (x >= 16) return std::nullopt;
        v = (v << 4) | x;
      }
      s.remove_prefix(n);
      if (e == 'x') {
        out.push_back(static_cast<char>(v));  // a single byte, possibly not UTF-8
      } else {
        if (v > kMaxRune) return std::nullopt;
        AppendRune(&out, v);
      }
    } else if (e >= '0' && e <= '7') {
      int32_t v = e - '0';
      if (s.size() < 2) return std::nullopt;
      for (size_t j = 0; j < 2; ++j) {
        int32_t x = s[j] - '0';
        if (x < 0 || x > 7) return std::nullopt;
        v = (v << 3) | x;
      }
      s.remove_prefix(2);
      if (v > 255) return std::nullopt;
      out.push_back(static_cast<char>(v));
    } else if (e == quote) {  // \" in "...", \/ in /.../, \| in |...|
      out.push_back(e);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser: containerd's filters/parser.go. Errors carry the message without the "filters: "
// prefix and the ": invalid argument" suffix, which Parse adds.

class Parser {
 public:
  explicit Parser(std::string_view input) : input_(input), scanner_(input) {}

  absl::StatusOr<std::vector<Selector>> Selectors() {
    std::vector<Selector> all;
    ASSIGN_OR_RETURN(Selector first, ParseSelector());
    all.push_back(std::move(first));
    for (;;) {
      int32_t ch = scanner_.Peek();
      if (ch == kTokenEOF) break;
      if (ch != ',') {
        std::string rune;
        AppendRune(&rune, ch);  // kTokenIllegal prints as U+FFFD, as Go's string(rune) does
        return Error(scanner_.ppos(), absl::StrCat("unexpected input: ", rune));
      }
      scanner_.Scan();  // the ','
      ASSIGN_OR_RETURN(Selector next, ParseSelector());
      all.push_back(std::move(next));
    }
    // Syntax errors first: they are what containerd 1.6 (which compiled patterns lazily) reports.
    RETURN_IF_ERROR(regexp_error_);
    return all;
  }

 private:
  absl::StatusOr<Selector> ParseSelector() {
    Selector s;
    ASSIGN_OR_RETURN(s.fieldpath, FieldPath());
    int32_t ch = scanner_.Peek();
    if (ch == ',' || ch == kTokenEOF) {
      s.op = Operator::kPresent;
      return s;
    }
    ASSIGN_OR_RETURN(s.op, ParseOperator());
    // Only a regular expression may be quoted with '/' or '|'.
    ASSIGN_OR_RETURN(s.value, Value(/*allow_alt_quotes=*/s.op == Operator::kMatches));
    if (s.op == Operator::kMatches) {
      RE2::Options options;
      options.set_log_errors(false);
      auto re = std::make_unique<RE2>(s.value, options);
      if (!re->ok() && regexp_error_.ok()) {
        regexp_error_ = absl::InvalidArgumentError(absl::StrCat(
            "failed to parse regular expression: error parsing regexp: ", re->error()));
      }
      s.re = std::move(re);
    }
    return s;
  }

  absl::StatusOr<std::vector<std::string>> FieldPath() {
    std::vector<std::string> path;
    ASSIGN_OR_RETURN(std::string first, Field());
    path.push_back(std::move(first));
    while (scanner_.Peek() == '.') {
      scanner_.Scan();  // the '.'
      ASSIGN_OR_RETURN(std::string next, Field());
      path.push_back(std::move(next));
    }
    return path;
  }

  absl::StatusOr<std::string> Field() {
    Token t = scanner_.Scan();
    switch (t.token) {
      case kTokenField:
        return std::string(t.text);
      case kTokenQuoted:
        return UnquoteAt(t, /*allow_alt_quotes=*/false);
      case kTokenIllegal:
        return ScannerError(t.pos, "expected field or quoted");
    }
    return Error(t.pos, "expected field or quoted");
  }

  absl::StatusOr<Operator> ParseOperator() {
    Token t = scanner_.Scan();
    constexpr std::string_view kExpected = R"(expected an operator ("=="|"!="|"~="))";
    switch (t.token) {
      case kTokenOperator:
        if (t.text == "==") return Operator::kEqual;
        if (t.text == "!=") return Operator::kNotEqual;
        if (t.text == "~=") return Operator::kMatches;
        return Error(t.pos, absl::StrCat("unsupported operator \"", std::string(t.text), "\""));
      case kTokenIllegal:
        return ScannerError(t.pos, kExpected);
    }
    return Error(t.pos, kExpected);
  }

  absl::StatusOr<std::string> Value(bool allow_alt_quotes) {
    Token t = scanner_.Scan();
    switch (t.token) {
      case kTokenValue:
      case kTokenField:
        return std::string(t.text);
      case kTokenQuoted:
        return UnquoteAt(t, allow_alt_quotes);
      case kTokenIllegal:
        return ScannerError(t.pos, "expected value or quoted");
    }
    return Error(t.pos, "expected value or quoted");
  }

  absl::StatusOr<std::string> UnquoteAt(const Token& t, bool allow_alt_quotes) {
    if (!allow_alt_quotes && t.text[0] != '"') return Error(t.pos, "invalid quote encountered");
    std::optional<std::string> s = Unquote(t.text);
    if (!s) return Error(t.pos, "unquoting failed: quote syntax error");
    return *std::move(s);
  }

  // An illegal token: the scanner's own complaint ("quoted literal not terminated", ...).
  absl::Status ScannerError(size_t pos, std::string_view fallback) {
    return Error(pos, scanner_.error().empty() ? fallback : std::string_view(scanner_.error()));
  }

  // containerd's parseError: the input with the offending byte marked, then the complaint:
  //   parse error: [image~= >|,|< id==x]: expected value or quoted
  absl::Status Error(size_t pos, std::string_view msg) const {
    std::string text = "parse error: [";
    if (pos < input_.size()) {
      text.append(input_.substr(0, pos)).append(" >|").append(input_.substr(pos, 1)).append("|< ");
      text.append(input_.substr(pos + 1));
    } else {
      text.append(input_);
    }
    text.append("]: ").append(msg);
    return absl::InvalidArgumentError(text);
  }

  std::string_view input_;
  Scanner scanner_;
  absl::Status regexp_error_;  // the first invalid ~= pattern
};

// Parses one non-empty filter string.
absl::StatusOr<std::vector<Selector>> ParseSelectors(std::string_view filter) {
  absl::StatusOr<std::vector<Selector>> all = Parser(filter).Selectors();
  if (!all.ok()) return ErrInvalidArgument(absl::StrCat("filters: ", all.status().message()));
  return all;
}

bool MatchSelector(const Selector& s, const Adaptor& adaptor) {
  std::optional<std::string> value = adaptor(s.fieldpath);
  // containerd's adaptors return "" for an absent field, and != and ~= compare that "".
  std::string_view v = value ? std::string_view(*value) : std::string_view();
  switch (s.op) {
    case Operator::kPresent:
      return value.has_value();
    case Operator::kEqual:
      return value.has_value() && v == s.value;
    case Operator::kNotEqual:
      return v != s.value;
    case Operator::kMatches:
      return RE2::PartialMatch(v, *s.re);
  }
  return false;
}

}  // namespace

Filter::Filter() = default;

bool Filter::Match(const Adaptor& adaptor) const {
  if (any_ == nullptr) return true;
  for (const std::vector<Selector>& all : any_->any) {
    bool matched = true;
    for (const Selector& s : all) {
      if (!MatchSelector(s, adaptor)) {
        matched = false;
        break;
      }
    }
    if (matched) return true;
  }
  return false;
}

bool Filter::MatchesAll() const { return any_ == nullptr; }

absl::StatusOr<Filter> Parse(absl::string_view filter) {
  if (filter.empty()) return Filter();
  auto alternatives = std::make_shared<Filter::Alternatives>();
  ASSIGN_OR_RETURN(std::vector<Selector> all,
                   ParseSelectors(std::string_view(filter.data(), filter.size())));
  alternatives->any.push_back(std::move(all));
  return Filter(std::move(alternatives));
}

absl::StatusOr<Filter> ParseAll(std::span<const std::string> filters) {
  auto alternatives = std::make_shared<Filter::Alternatives>();
  bool always = filters.empty();
  for (const std::string& f : filters) {
    if (f.empty()) {  // "" is containerd's Always: the disjunction accepts everything
      always = true;
      continue;  // still parse the rest: a bad string is an error either way
    }
    ASSIGN_OR_RETURN(std::vector<Selector> all, ParseSelectors(f));
    alternatives->any.push_back(std::move(all));
  }
  if (always) return Filter();
  return Filter(std::move(alternatives));
}

std::optional<std::string> LookupMap(std::span<const std::string> rest,
                                     const std::map<std::string, std::string>* m) {
  if (m == nullptr || m->empty()) return std::nullopt;
  auto it = m->find(absl::StrJoin(rest, "."));
  if (it == m->end()) return std::nullopt;
  return it->second;
}

Adaptor LabelsAdaptor(std::function<std::optional<std::string>(absl::string_view field)> top,
                      const std::map<std::string, std::string>* labels) {
  return [top = std::move(top),
          labels](std::span<const std::string> path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path[0] == "labels") return LookupMap(path.subspan(1), labels);
    if (!top) return std::nullopt;
    return top(path[0]);
  };
}

}  // namespace berth::filters
