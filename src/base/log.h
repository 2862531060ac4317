// Structured logging to stderr in logfmt, like containerd's:
//   time="2026-11-22T23:30:00.123456Z" level=info msg="serving" address=/run/berth/berthd.sock
// Thread-safe: each record is formatted first and written with one write(2).
#pragma once

#include <initializer_list>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace berth::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// One key=value pair. The value is rendered at the call site (AlphaNum accepts strings and numbers).
struct Field {
  Field(absl::string_view k, const absl::AlphaNum& v) : key(k), value(v.Piece()) {}
  absl::string_view key;
  std::string value;
};

void SetLevel(Level level);
bool Enabled(Level level);
// Parses "trace", "debug", "info", "warn"/"warning", "error"; InvalidArgument otherwise.
absl::StatusOr<Level> ParseLevel(absl::string_view name);

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields);

inline void Debug(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, msg, fields);
}
inline void Info(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, msg, fields);
}
inline void Warn(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, msg, fields);
}
inline void Error(absl::string_view msg, std::initializer_list<Field> fields = {}) {
  if (Enabled(Level::kError)) Write(Level::kError, msg, fields);
}

}  // namespace berth::log
