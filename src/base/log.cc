#include "base/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/status.h"

namespace berth::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

absl::string_view LevelName(Level level) {
  switch (level) {
    case Level::kTrace: return "trace";
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warning";
    case Level::kError: return "error";
  }
  return "unknown";
}

// Quotes a value when logfmt needs it (spaces, quotes, '=' or empty).
void AppendValue(std::string* out, absl::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') {
      quote = true;
      break;
    }
  }
  if (!quote) {
    absl::StrAppend(out, v);
    return;
  }
  out->push_back('"');
  for (char c : v) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\t': out->append("\\t"); break;
      default: out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

void SetLevel(Level level) { g_level.store(level, std::memory_order_relaxed); }

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

absl::StatusOr<Level> ParseLevel(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "trace") return Level::kTrace;
  if (n == "debug") return Level::kDebug;
  if (n == "info") return Level::kInfo;
  if (n == "warn" || n == "warning") return Level::kWarn;
  if (n == "error") return Level::kError;
  return ErrInvalidArgument(absl::StrCat("unknown log level \"", name,
                                         "\" (want trace, debug, info, warn or error)"));
}

void Write(Level level, absl::string_view msg, std::initializer_list<Field> fields) {
  std::string line = "time=\"";
  line += absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  line += "\" level=";
  absl::StrAppend(&line, LevelName(level));
  line += " msg=";
  AppendValue(&line, msg);
  for (const Field& f : fields) {
    line.push_back(' ');
    absl::StrAppend(&line, f.key);
    line.push_back('=');
    AppendValue(&line, f.value);
  }
  line.push_back('\n');
  // One write per record keeps lines whole across threads; a short write to stderr is ignored.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace berth::log
