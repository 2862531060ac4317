// The fixture for tests that drive berthd with the real containerd 1.6 `ctr` (Debian's
// /usr/bin/ctr), and helpers to read its tabular output the way a user or a script would.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "test/daemon_fixture.h"

namespace berth::test {

inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
    out.emplace_back(absl::StripTrailingAsciiWhitespace(l));
  }
  return out;
}

// The fields of the table row whose first column is `key` (tabwriter pads with spaces).
inline std::optional<std::vector<std::string>> Row(const std::string& table, const std::string& key) {
  for (const std::string& line : Lines(table)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!fields.empty() && fields[0] == key) return fields;
  }
  return std::nullopt;
}

// The test images of scripts/make-test-images.sh (busybox-docker.tar, layers-oci.tar, ...), built
// on first use (about a second) into a temp dir that is removed when the test binary exits.
inline std::string TestImage(absl::string_view name) {
  static TempDir dir("berth-test-images");
  static const bool built = [] {
    CommandResult r = RunCommand(
        {"/bin/bash", std::string(kSourceDir) + "/scripts/make-test-images.sh", dir.path()},
        absl::Seconds(120));
    if (r.exit_code != 0) ADD_FAILURE() << "make-test-images.sh: " << r.Describe();
    return r.exit_code == 0;
  }();
  (void)built;
  return dir.Sub(name);
}

class CtrTest : public DaemonTest {
 protected:
  void SetUp() override {
    struct stat st;
    if (stat(kCtrPath, &st) != 0) GTEST_FAIL() << kCtrPath << " missing (apt install containerd)";
    DaemonTest::SetUp();
  }

  CommandResult Ctr(const std::vector<std::string>& args) { return CtrIn(ns_, args); }
  CommandResult CtrIn(const std::string& ns, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {kCtrPath, "-a", daemon_.socket(), "-n", ns};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, absl::Seconds(30));
  }
};

}  // namespace berth::test
