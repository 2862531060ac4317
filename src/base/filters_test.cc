#include "base/filters.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::filters {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// containerd's filters/filter_test.go corpus and adaptor: `name` and `other` are present when
// non-empty; `labels.<path>` looks up the rest of the path joined with '.'.
struct Entry {
  std::string name;
  std::string other;
  std::map<std::string, std::string> labels;
};

const std::vector<Entry>& Corpus() {
  static const auto* corpus = new std::vector<Entry>{
      {"foo", "", {{"foo", "true"}}},                                          // 0
      {"bar", "", {}},                                                         // 1
      {"foo", "", {{"foo", "present"}, {"more complex label", "present"}}},    // 2
      {"bar", "", {{"bar", "true"}}},                                          // 3
      {"fooer", "", {{"more complex label with \\ and \"", "present"}}},       // 4
      {"fooer", "", {{"more complex label with \\ and \".post", "present"}}},  // 5
      {"baz", "too complex, yo", {}},                                          // 6
      {"bazo", "abc", {}},                                                     // 7
      {"compound", "", {{"foo", "omg_asdf.asdf-qwer"}}},                       // 8
  };
  return *corpus;
}

Adaptor Adapt(const Entry& e) {
  return [&e](std::span<const std::string> path) -> std::optional<std::string> {
    if (path[0] == "name" && !e.name.empty()) return e.name;
    if (path[0] == "other" && !e.other.empty()) return e.other;
    if (path[0] == "labels") {
      auto it = e.labels.find(absl::StrJoin(path.subspan(1), "."));
      if (it != e.labels.end()) return it->second;
    }
    return std::nullopt;
  };
}

// Indices of the corpus entries `f` selects.
std::vector<int> Select(const Filter& f) {
  std::vector<int> out;
  for (size_t i = 0; i < Corpus().size(); ++i) {
    if (f.Match(Adapt(Corpus()[i]))) out.push_back(static_cast<int>(i));
  }
  return out;
}

struct MatchCase {
  const char* name;
  std::string input;
  std::vector<int> expected;
};

const std::vector<int> kAll = {0, 1, 2, 3, 4, 5, 6, 7, 8};

TEST(FiltersTest, MatchesLikeContainerd) {
  const MatchCase cases[] = {
      // From containerd's TestFilters.
      {"Empty", "", kAll},
      {"Present", "name", kAll},
      {"LabelPresent", "labels.foo", {0, 2, 8}},
      {"NameAndLabelPresent", "labels.foo,name", {0, 2, 8}},
      {"LabelValue", "labels.foo==true", {0}},
      {"LabelValuePunctuated", "labels.foo==omg_asdf.asdf-qwer", {8}},
      {"Name", "name==bar", {1, 3}},
      {"NameNotEqual", "name!=bar", {0, 2, 4, 5, 6, 7, 8}},
      {"NameAndLabelPresent2", "name==bar,labels.bar", {3}},
      {"QuotedValue", "other==\"too complex, yo\"", {6}},
      {"RegexpValue", "other~=[abc]+,name!=foo", {6, 7}},
      {"RegexpQuotedValue", "other~=/[abc]+/,name!=foo", {6, 7}},
      {"RegexpQuotedValueBraces", "other~=/[abc]{1,2}/,name!=foo", {6, 7}},
      {"RegexpQuotedValueGarbage", R"(other~=/[abc]{0,1}"\//,name!=foo)", {}},
      {"NameAndLabelValue", "name==bar,labels.bar==true", {3}},
      {"NameAndLabelValueNoMatch", "name==bar,labels.bar==wrong", {}},
      {"LabelQuotedFieldPathPresent", R"(name==foo,labels."more complex label")", {2}},
      {"LabelQuotedFieldPathPresentWithQuoted",
       R"(labels."more complex label with \\ and \""==present)",
       {4}},
      {"LabelQuotedFieldPathPresentWithQuotedEmbed",
       R"(labels."more complex label with \\ and \"".post==present)",
       {5}},
      // Absent fields: != and ~= compare "", == and presence fail.
      {"NotEqualMatchesAbsent", "other!=abc", {0, 1, 2, 3, 4, 5, 6, 8}},
      {"NotEqualEmptyNeedsPresentValue", "other!=\"\"", {6, 7}},
      {"EqualEmptyNeverMatchesAbsent", "other==\"\"", {}},
      {"RegexpMatchesAbsentAsEmpty", "labels.foo~=/^$/", {1, 3, 4, 5, 6, 7}},
      {"RegexpAnythingMatchesAbsent", "labels.foo~=/.*/", kAll},
      {"RegexpIsUnanchored", "labels.foo~=res", {2}},
      {"RegexpPipeQuoted", "name~=|^ba[rz]$|", {1, 3, 6}},
      {"RegexpAlternationQuoted", "name~=\"^(foo|bar)$\"", {0, 1, 2, 3}},
      // Spacing: allowed before operators and values, and after commas.
      {"SpacesAroundOperator", "name == bar", {1, 3}},
      {"SpaceAfterComma", "name==bar, labels.bar", {3}},
      // Bare values take any graphic rune but ','.
      {"ValueWithEquals", "name==foo=bar", {}},
      {"ValueWithBrackets", "other~=^[a-c]{3}$", {7}},
  };
  for (const MatchCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Filter> f = Parse(c.input);
    ASSERT_TRUE(f.ok()) << c.input << ": " << f.status();
    EXPECT_EQ(Select(*f), c.expected) << c.input;
  }
}

struct ErrorCase {
  const char* name;
  std::string input;
  std::string message;  // the whole status message
};

TEST(FiltersTest, ParseErrorsReadLikeContainerd) {
  const ErrorCase cases[] = {
      // From containerd's TestFilters.
      {"LabelValueNoAltQuoting", "labels.|foo|==omg_asdf.asdf-qwer",
       "filters: parse error: [labels. >|||< foo|==omg_asdf.asdf-qwer]: invalid quote "
       "encountered"},
      {"LabelQuotedFieldPathPresentWithQuotedEmbedInvalid",
       R"(labels.?"more complex label with \\ and \"".post==present)",
       R"(filters: parse error: [labels. >|?|< "more complex label with \\ and \"".post==present]: )"
       "expected field or quoted"},
      {"TrailingComma", "name==foo,",
       "filters: parse error: [name==foo,]: expected field or quoted"},
      {"TrailingFieldSeparator", "labels.",
       "filters: parse error: [labels.]: expected field or quoted"},
      {"MissingValue", "image~=,id?=?fbaq",
       "filters: parse error: [image~= >|,|< id?=?fbaq]: expected value or quoted"},
      {"FieldQuotedLiteralNotTerminated", "labels.ns/key==value",
       "filters: parse error: [labels.ns >|/|< key==value]: quoted literal not terminated"},
      {"ValueQuotedLiteralNotTerminated", "labels.key==/value",
       "filters: parse error: [labels.key== >|/|< value]: quoted literal not terminated"},
      // More of the same grammar.
      {"MissingValueAtEnd", "name==", "filters: parse error: [name==]: expected value or quoted"},
      {"UnterminatedDoubleQuote", "name==\"foo",
       "filters: parse error: [name== >|\"|< foo]: quoted literal not terminated"},
      {"NewlineInQuotes", "name==\"fo\no\"",
       "filters: parse error: [name== >|\"|< fo\no\"]: quoted literal not terminated"},
      {"SlashQuotedEqualValue", "name==/foo/",
       "filters: parse error: [name== >|/|< foo/]: invalid quote encountered"},
      {"PipeQuotedNotEqualValue", "name!=|foo|",
       "filters: parse error: [name!= >|||< foo|]: invalid quote encountered"},
      {"SingleEquals", "name=bar",
       "filters: parse error: [name >|=|< bar]: unsupported operator \"=\""},
      {"UnknownOperator", "name=~bar",
       "filters: parse error: [name >|=|< ~bar]: unsupported operator \"=~\""},
      {"NotAnOperator", "name?",
       "filters: parse error: [name >|?|< ]: expected an operator (\"==\"|\"!=\"|\"~=\")"},
      {"DoubleComma", "name==foo,,name",
       "filters: parse error: [name==foo, >|,|< name]: expected field or quoted"},
      {"TrailingSpace", "name==bar ",
       "filters: parse error: [name==bar >| |< ]: unexpected input:  "},
      {"GarbageAfterQuoted", "name==\"foo\"bar",
       "filters: parse error: [name==\"foo\" >|b|< ar]: unexpected input: b"},
      {"ValueStartingWithDot", "labels.foo~=.*",
       "filters: parse error: [labels.foo~= >|.|< *]: expected value or quoted"},
      {"IllegalEscape", R"(name=="a\qb")",
       R"(filters: parse error: [name== >|"|< a\qb"]: illegal escape sequence)"},
      {"IllegalNumericEscape", R"(name=="\x4")",
       R"(filters: parse error: [name== >|"|< \x4"]: illegal numeric escape sequence)"},
      {"OctalOutOfRange", R"(name=="\777")",
       R"(filters: parse error: [name== >|"|< \777"]: unquoting failed: quote syntax error)"},
      {"EscapedOtherQuote", R"(name~=/a\"b/)",
       R"(filters: parse error: [name~= >|/|< a\"b/]: illegal escape sequence)"},
      {"OnlySpace", " ", "filters: parse error: [ ]: expected field or quoted"},
      {"InvalidUTF8", "name==\xff", "filters: parse error: [name== >|\xff|< ]: rune error"},
      {"SpaceBeforeComma", "name == bar ,labels.bar",
       "filters: parse error: [name == bar >| |< ,labels.bar]: unexpected input:  "},
      {"UnquotedSpaceInField", "labels.more complex label",
       "filters: parse error: [labels.more  >|c|< omplex label]: expected an operator "
       "(\"==\"|\"!=\"|\"~=\")"},
      {"NulInValue", std::string("name==a\0b", 9),
       std::string("filters: parse error: [name==a >|") + '\0' +
           "|< b]: unexpected input: \xEF\xBF\xBD"},
  };
  for (const ErrorCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<Filter> f = Parse(c.input);
    ASSERT_FALSE(f.ok()) << c.input;
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(f.status().message()), c.message + ": invalid argument");
  }
}

TEST(FiltersTest, BadRegexIsAParseError) {
  for (const char* input : {"name~=[abc", "name~=/(a/", "name~=|a**|", "name~=\"\\\\p{Nope}\""}) {
    SCOPED_TRACE(input);
    absl::StatusOr<Filter> f = Parse(input);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(f.status().message());
    EXPECT_THAT(message, StartsWith("filters: failed to parse regular expression: error parsing "
                                    "regexp: "));
    EXPECT_THAT(message, ::testing::EndsWith(": invalid argument"));
  }
}

// True if `filter` selects an object whose every field has the value `value`.
bool MatchesValue(const std::string& filter, const std::string& value) {
  absl::StatusOr<Filter> f = Parse(filter);
  EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
  return f.ok() && f->Match([&](std::span<const std::string>) { return std::optional(value); });
}

TEST(FiltersTest, GoRegexpSyntax) {
  // RE2 is Go's regexp syntax: flags, named groups, Unicode classes, no backreferences.
  EXPECT_TRUE(MatchesValue("a~=/(?i)^HELLO$/", "hello"));
  EXPECT_TRUE(MatchesValue(R"(a~=^(?P<x>\d+)-\pL+$)", "12-abc"));
  EXPECT_FALSE(MatchesValue(R"(a~=^\d+$)", "12a"));
  // Inside quotes a regexp backslash is itself escaped, as in a Go string.
  EXPECT_TRUE(MatchesValue(R"(a~=/^\\d+$/)", "12"));
  EXPECT_TRUE(MatchesValue("a~=/^a.c$/",
                           "a\xc3\xa9"
                           "c"));           // '.' is one rune, not one byte
  EXPECT_FALSE(Parse(R"(a~=(a)\1)").ok());  // backreferences are not RE2
}

TEST(FiltersTest, QuotedStringsAreGoStrings) {
  EXPECT_TRUE(MatchesValue(R"(k=="a\tb")", "a\tb"));
  EXPECT_TRUE(MatchesValue(R"(k=="\u00e9")", "\xc3\xa9"));
  EXPECT_TRUE(MatchesValue(R"(k=="\x41\001")", "A\x01"));
  EXPECT_TRUE(MatchesValue(R"(k=="x\"y\\z")", "x\"y\\z"));
  EXPECT_TRUE(MatchesValue(R"(k=="\u20AC")", "\xe2\x82\xac"));
  EXPECT_TRUE(MatchesValue(R"(k=="\U0001F600")", "\xf0\x9f\x98\x80"));
  EXPECT_TRUE(MatchesValue(R"(k=="\xff")", "\xff"));            // \x is a byte, not a rune
  EXPECT_TRUE(MatchesValue(R"(k=="\ud800")", "\xef\xbf\xbd"));  // a surrogate is U+FFFD
  EXPECT_TRUE(MatchesValue(R"(k~=/a\/b/)", "a/b"));
  EXPECT_TRUE(MatchesValue(R"(k~=|^a\\\|b$|)", "a|b"));  // regexp ^a\|b$
  EXPECT_FALSE(MatchesValue(R"(k~=|^a\\\|b$|)", "a"));
  EXPECT_TRUE(MatchesValue("k==\xc3\xa9t\xc3\xa9", "\xc3\xa9t\xc3\xa9"));  // bare non-ASCII
  EXPECT_FALSE(MatchesValue(R"(k=="a\tb")", "a\\tb"));
}

TEST(FiltersTest, AdaptorSeesDecodedFieldPath) {
  std::vector<std::vector<std::string>> seen;
  Adaptor record = [&](std::span<const std::string> path) -> std::optional<std::string> {
    seen.emplace_back(path.begin(), path.end());
    return std::nullopt;
  };
  absl::StatusOr<Filter> f =
      Parse(R"(labels."containerd.io/gc.root",labels.a.b==1,"quoted field"!=x,_a1~=^$)");
  ASSERT_TRUE(f.ok()) << f.status();
  // The first selector fails (absent), so only it is consulted: AND stops early.
  EXPECT_FALSE(f->Match(record));
  EXPECT_THAT(seen, ElementsAre(ElementsAre("labels", "containerd.io/gc.root")));

  seen.clear();
  Adaptor all_present = [&](std::span<const std::string> path) -> std::optional<std::string> {
    seen.emplace_back(path.begin(), path.end());
    return std::string(path.back() == "b" ? "1" : "");
  };
  EXPECT_TRUE(f->Match(all_present));
  EXPECT_THAT(seen, ElementsAre(ElementsAre("labels", "containerd.io/gc.root"),
                                ElementsAre("labels", "a", "b"), ElementsAre("quoted field"),
                                ElementsAre("_a1")));
}

TEST(FiltersTest, DefaultAndEmptyFiltersMatchEverything) {
  Filter def;
  EXPECT_TRUE(def.MatchesAll());
  EXPECT_TRUE(def.Match([](std::span<const std::string>) { return std::nullopt; }));

  absl::StatusOr<Filter> empty = Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->MatchesAll());

  absl::StatusOr<Filter> name = Parse("name");
  ASSERT_TRUE(name.ok());
  EXPECT_FALSE(name->MatchesAll());
  EXPECT_FALSE(name->Match([](std::span<const std::string>) { return std::nullopt; }));
}

TEST(FiltersTest, ParseAllOrsItsStrings) {
  std::vector<std::string> none;
  absl::StatusOr<Filter> f = ParseAll(none);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->MatchesAll());
  EXPECT_EQ(Select(*f), kAll);

  std::vector<std::string> two = {"name==foo", "name==bar,labels.bar"};
  f = ParseAll(two);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->MatchesAll());
  EXPECT_EQ(Select(*f), (std::vector<int>{0, 2, 3}));

  std::vector<std::string> with_regex = {"other~=^a", "labels.\"more complex label\""};
  f = ParseAll(with_regex);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(Select(*f), (std::vector<int>{2, 7}));

  // As in containerd, an empty string among them is "always".
  std::vector<std::string> with_empty = {"name==nope", ""};
  f = ParseAll(with_empty);
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->MatchesAll());
  EXPECT_EQ(Select(*f), kAll);
}

TEST(FiltersTest, ParseAllFailsOnAnyBadString) {
  std::vector<std::string> bad = {"name==foo", "", "name=="};
  absl::StatusOr<Filter> f = ParseAll(bad);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  // The class suffix appears once, not once per wrapping.
  EXPECT_EQ(std::string(f.status().message()),
            "filters: parse error: [name==]: expected value or quoted: invalid argument");
}

TEST(FiltersTest, CopiesShareTheParsedFilter) {
  Filter copy;
  {
    absl::StatusOr<Filter> f = Parse("name~=^ba,other");
    ASSERT_TRUE(f.ok());
    copy = *f;
  }
  EXPECT_EQ(Select(copy), (std::vector<int>{6, 7}));
}

TEST(FiltersTest, LookupMapJoinsThePath) {
  std::map<std::string, std::string> m = {{"a.b", "1"}, {"", "empty key"}};
  std::vector<std::string> ab = {"a", "b"};
  std::vector<std::string> a_b = {"a.b"};
  std::vector<std::string> none;
  EXPECT_EQ(LookupMap(ab, &m), "1");
  EXPECT_EQ(LookupMap(a_b, &m), "1");
  EXPECT_EQ(LookupMap(none, &m), "empty key");
  std::vector<std::string> missing = {"a"};
  EXPECT_EQ(LookupMap(missing, &m), std::nullopt);
  EXPECT_EQ(LookupMap(ab, nullptr), std::nullopt);
  std::map<std::string, std::string> empty;
  EXPECT_EQ(LookupMap(none, &empty), std::nullopt);
}

TEST(FiltersTest, LabelsAdaptorLikeContainerdAdaptors) {
  std::map<std::string, std::string> labels = {{"containerd.io/gc.root", "x"}, {"env", "prod"}};
  std::string id = "redis";
  std::string image;  // empty: absent, as containerd's `len(obj.Image) > 0`
  Adaptor a = LabelsAdaptor(
      [&](absl::string_view field) -> std::optional<std::string> {
        if (field == "id" && !id.empty()) return id;
        if (field == "image" && !image.empty()) return image;
        return std::nullopt;
      },
      &labels);
  auto match = [&](const std::string& filter) {
    absl::StatusOr<Filter> f = Parse(filter);
    EXPECT_TRUE(f.ok()) << filter << ": " << f.status();
    return f.ok() && f->Match(a);
  };
  EXPECT_TRUE(match("id==redis"));
  EXPECT_TRUE(match("id"));
  EXPECT_FALSE(match("image"));
  EXPECT_TRUE(match("image!=busybox"));
  EXPECT_FALSE(match("image==\"\""));
  EXPECT_TRUE(match("labels.\"containerd.io/gc.root\""));
  EXPECT_TRUE(match("labels.\"containerd.io/gc.root\"==x"));
  EXPECT_TRUE(match("labels.env==prod,id~=^re"));
  EXPECT_FALSE(match("labels.env==dev"));
  EXPECT_FALSE(match("labels"));            // looks up the key "", as containerd's checkMap
  EXPECT_TRUE(match("id.ignored==redis"));  // containerd switches on fieldpath[0] only
  EXPECT_FALSE(match("runtime.name"));

  Adaptor no_labels = LabelsAdaptor([](absl::string_view) { return std::nullopt; }, nullptr);
  absl::StatusOr<Filter> f = Parse("labels.env");
  ASSERT_TRUE(f.ok());
  EXPECT_FALSE(f->Match(no_labels));
  f = Parse("labels.env!=prod");
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE(f->Match(no_labels));
}

TEST(FiltersTest, HyphenatedKeysNeedQuotes) {
  // containerd 1.6's unquoted fields are [A-Za-z0-9_]+; '-' ends the field.
  absl::StatusOr<Filter> f = Parse("labels.io-x==1");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(std::string(f.status().message()),
            "filters: parse error: [labels.io >|-|< x==1]: expected an operator "
            "(\"==\"|\"!=\"|\"~=\"): invalid argument");
  std::map<std::string, std::string> labels = {{"io-x", "1"}};
  f = Parse(R"(labels."io-x"==1)");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_TRUE(f->Match(LabelsAdaptor(nullptr, &labels)));
}

}  // namespace
}  // namespace berth::filters
