#include "cli/human.h"

#include "absl/strings/str_format.h"

namespace berth::cli {

std::string HumanBytes(int64_t bytes) {
  if (bytes < 0) return "-";
  static constexpr const char* kUnits[] = {"B",   "KiB", "MiB", "GiB", "TiB",
                                           "PiB", "EiB", "ZiB", "YiB"};
  double size = static_cast<double>(bytes);
  size_t unit = 0;
  while (size >= 1024.0 && unit + 1 < std::size(kUnits)) {
    size /= 1024.0;
    ++unit;
  }
  return absl::StrFormat("%02.1f %s", size, kUnits[unit]);
}

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = absl::ZeroDuration();
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return absl::StrFormat("%d seconds", seconds);
  const int64_t minutes = absl::ToInt64Minutes(d);
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return absl::StrFormat("%d minutes", minutes);
  const int64_t hours = static_cast<int64_t>(absl::ToDoubleHours(d) + 0.5);
  if (hours == 1) return "About an hour";
  if (hours < 48) return absl::StrFormat("%d hours", hours);
  if (hours < 24 * 7 * 2) return absl::StrFormat("%d days", hours / 24);
  if (hours < 24 * 30 * 2) return absl::StrFormat("%d weeks", hours / 24 / 7);
  if (hours < 24 * 365 * 2) return absl::StrFormat("%d months", hours / 24 / 30);
  return absl::StrFormat("%d years", absl::ToInt64Hours(d) / 24 / 365);
}

}  // namespace berth::cli
