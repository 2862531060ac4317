// cgroup interface file readers (see cgroup_files.h).
#include "shim/cgroup_files.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"

namespace berth::shim::cgroup_files {

std::string Join(const std::string& dir, absl::string_view name) {
  return absl::StrCat(dir, "/", name);
}

// Reads a file that may legitimately be absent (a controller feature the kernel lacks): nullopt
// when it does not exist, an error for anything else.
absl::StatusOr<std::optional<std::string>> ReadOptional(const std::string& path) {
  absl::StatusOr<std::string> content = sys::ReadFile(path);
  if (content.ok()) return std::optional<std::string>(std::move(*content));
  if (absl::IsNotFound(content.status())) return std::optional<std::string>();
  return content.status();
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Parses an unsigned decimal the way containerd's parseUint does: a negative number (the kernel
// prints -1 for some unset counters) reads as 0. nullopt if `s` is not an integer.
std::optional<uint64_t> ParseUintLenient(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  uint64_t u;
  if (absl::SimpleAtoi(s, &u)) return u;
  if (absl::StartsWith(s, "-") && s.size() > 1 &&
      std::all_of(s.begin() + 1, s.end(), [](char c) { return absl::ascii_isdigit(c); })) {
    return 0;
  }
  return std::nullopt;
}

absl::StatusOr<uint64_t> ParseUint(absl::string_view s, const std::string& path) {
  std::optional<uint64_t> v = ParseUintLenient(s);
  if (!v) return ErrInvalidArgument(absl::StrCat(path, ": not a number: \"", s, "\""));
  return *v;
}

// Reads a single-number file; nullopt if it does not exist.
absl::StatusOr<std::optional<uint64_t>> ReadUintOptional(const std::string& path) {
  ASSIGN_OR_RETURN(std::optional<std::string> content, ReadOptional(path));
  if (!content) return std::optional<uint64_t>();
  ASSIGN_OR_RETURN(uint64_t v, ParseUint(*content, path));
  return std::optional<uint64_t>(v);
}

// Parses a flat keyed file ("key value" lines: memory.stat, cpu.stat, memory.events, ...). A line
// without exactly two fields is an error, as in containerd. With `strict`, so is a value that is
// not a number (v1); otherwise such a value reads as 0 (v2, where e.g. "max" may appear).
absl::StatusOr<std::map<std::string, uint64_t>> ParseKeyed(absl::string_view content,
                                                           const std::string& path, bool strict) {
  std::map<std::string, uint64_t> out;
  for (absl::string_view line : absl::StrSplit(content, '\n', absl::SkipWhitespace())) {
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return ErrInvalidArgument(absl::StrCat(path, ": invalid line \"", line, "\""));
    }
    std::optional<uint64_t> v = ParseUintLenient(fields[1]);
    if (!v && strict) {
      return ErrInvalidArgument(absl::StrCat(path, ": invalid value in \"", line, "\""));
    }
    out[std::string(fields[0])] = v.value_or(0);
  }
  return out;
}

// A keyed file that may be absent: nullopt then.
absl::StatusOr<std::optional<std::map<std::string, uint64_t>>> ReadKeyedOptional(
    const std::string& path, bool strict) {
  ASSIGN_OR_RETURN(std::optional<std::string> content, ReadOptional(path));
  if (!content) return std::optional<std::map<std::string, uint64_t>>();
  ASSIGN_OR_RETURN(auto parsed, ParseKeyed(*content, path, strict));
  return std::optional<std::map<std::string, uint64_t>>(std::move(parsed));
}

uint64_t Get(const std::map<std::string, uint64_t>& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}
absl::StatusOr<std::string> ReadProcCgroup(int pid) {
  std::string path = absl::StrCat("/proc/", pid, "/cgroup");
  absl::StatusOr<std::string> content = sys::ReadFile(path);
  if (!content.ok()) {
    // ENOENT (no such process) or ESRCH (it exited while we read).
    if (absl::IsNotFound(content.status())) return ErrNotFound(absl::StrCat("process ", pid));
    return content.status();
  }
  return content;
}

}  // namespace berth::shim::cgroup_files
