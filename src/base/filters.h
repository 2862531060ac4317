// containerd's filter syntax (github.com/containerd/containerd/filters), used by every List/Walk
// call of the API: `name==foo,labels."a.b"~=/^x/` etc.
//
// A filter string is a comma separated list of selectors that must all match (AND):
//
//   selectors := selector ("," selector)*
//   selector  := fieldpath (operator value)?
//   fieldpath := field ("." field)*
//   field     := [_A-Za-z0-9]+ | "..."                (Go string syntax)
//   operator  := "==" | "!=" | "~="                    (~= is an RE2 regular expression)
//   value     := bare | "..." | /.../ | |...|         (/ and | quoting only after ~=)
//
// A bare value is a run of graphic runes up to ',' or a space; it cannot start with a quote,
// '.', '=', '!' or '~' (so `~=.*` must be written `~=/.*/`). Spaces may precede fields, operators
// and values, but not follow a value. Quoted strings use Go's escapes (\n, \x41, \u00e9, ...);
// inside /.../ and |...| the delimiter is escaped with a backslash.
//
// Several filter strings are OR'ed (ParseAll). A selector without operator tests presence.
// Semantics per operator, as containerd's:
//   present  field is present
//   ==       field is present and equal
//   !=       field value differs; an absent field counts as "" (so `name!=x` matches no name)
//   ~=       partial (unanchored) match of the value; an absent field counts as ""
// Unlike containerd 1.6, which compiled a regular expression on first use and then matched
// nothing if it was invalid, an invalid ~= pattern is a parse error here (as in containerd 2).
//
// Thread-safety: a parsed Filter is immutable; Match may be called from many threads at once,
// and copies share the parsed selectors.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::filters {

// Looks a field path up in one object: returns the value if the field is present.
// e.g. {"labels", "a.b"} for `labels."a.b"`; {"id"} for `id`. The path is never empty.
using Adaptor = std::function<std::optional<std::string>(std::span<const std::string> fieldpath)>;

class Filter {
 public:
  Filter();  // matches everything

  // True if the object seen through `adaptor` is selected.
  bool Match(const Adaptor& adaptor) const;

  // True if this filter accepts everything (no selectors, or one of the OR'ed strings was empty),
  // so callers may skip building adaptors.
  bool MatchesAll() const;

 private:
  // The parsed selectors: alternatives (OR) of conjunctions (AND). Defined in filters.cc.
  struct Alternatives;

  friend absl::StatusOr<Filter> Parse(absl::string_view filter);
  friend absl::StatusOr<Filter> ParseAll(std::span<const std::string> filters);
  explicit Filter(std::shared_ptr<const Alternatives> any) : any_(std::move(any)) {}

  // Null means "matches everything".
  std::shared_ptr<const Alternatives> any_;
};

// Parses one filter string (selectors joined by ',', AND). "" matches everything.
// Errors: InvalidArgument reading like containerd's, e.g.
//   filters: parse error: [name==foo,]: expected field or quoted: invalid argument
//   filters: parse error: [image~= >|,|< id==x]: expected value or quoted: invalid argument
//   filters: failed to parse regular expression: error parsing regexp: ...: invalid argument
absl::StatusOr<Filter> Parse(absl::string_view filter);

// Parses several filter strings, OR'ed. An empty list matches everything, and so does a list
// holding an empty string (as in containerd, "" is "always"). Errors as Parse's.
absl::StatusOr<Filter> ParseAll(std::span<const std::string> filters);

// containerd's checkMap: the key is the rest of the path joined with '.', so `labels.a.b` and
// `labels."a.b"` both look up "a.b" (and bare `labels` looks up ""). A null or empty map has no
// fields.
std::optional<std::string> LookupMap(std::span<const std::string> rest,
                                     const std::map<std::string, std::string>* m);

// Adaptor for the common object shape (containers, leases, images, snapshots): `labels.<key>` via
// `labels` (see LookupMap), anything else via `top(fieldpath[0])`. As in containerd's adaptors the
// rest of the path after a top-level field is ignored (`id.x` reads `id`), and `top` says what is
// present: containerd reports most string fields present iff non-empty (`len(obj.ID) > 0`), but
// e.g. a snapshot's `parent` and `name` always. `labels` may be null; it and whatever `top`
// captures must outlive the returned Adaptor.
Adaptor LabelsAdaptor(std::function<std::optional<std::string>(absl::string_view field)> top,
                      const std::map<std::string, std::string>* labels);

}  // namespace berth::filters
