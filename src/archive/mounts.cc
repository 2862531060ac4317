#include "archive/mounts.h"

#include <stdlib.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/fs.h"

namespace berth::archive {
namespace {

// A temporary mount point under `scratch`, unmounted and removed when it goes out of scope.
class TempMount {
 public:
  static absl::StatusOr<std::unique_ptr<TempMount>> Create(std::span<const sys::Mount> mounts,
                                                           const std::string& scratch,
                                                           bool readonly) {
    RETURN_IF_ERROR(sys::MakeDirs(scratch, 0700));
    std::string tmpl = absl::StrCat(scratch, "/mount-XXXXXX");
    if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoError(errno, "mkdtemp " + tmpl);
    std::unique_ptr<TempMount> m(new TempMount(tmpl));
    std::vector<sys::Mount> list(mounts.begin(), mounts.end());
    if (readonly) {
      for (sys::Mount& mount : list) {
        if (mount.type == "overlay") {
          // A read-only overlay: containerd drops upperdir/workdir and keeps only the lowers,
          // with the upper as the top lower.
          std::string upper;
          std::vector<std::string> kept;
          std::string lowers;
          for (const std::string& o : mount.options) {
            if (absl::StartsWith(o, "upperdir=")) {
              upper = o.substr(9);
            } else if (absl::StartsWith(o, "lowerdir=")) {
              lowers = o.substr(9);
            } else if (!absl::StartsWith(o, "workdir=")) {
              kept.push_back(o);
            }
          }
          if (!upper.empty()) lowers = lowers.empty() ? upper : absl::StrCat(upper, ":", lowers);
          if (lowers.find(':') == std::string::npos) {
            // One layer: a read-only bind of it.
            mount = sys::Mount{.type = "bind", .source = lowers, .options = {"ro", "rbind"}};
            continue;
          }
          kept.push_back("lowerdir=" + lowers);
          mount.options = std::move(kept);
        } else {
          mount.options.push_back("ro");
        }
      }
    }
    absl::Status st = sys::MountAll(list, m->path_);
    if (!st.ok()) return st;
    m->mounted_ = true;
    return m;
  }
  ~TempMount() {
    if (mounted_) {
      absl::Status st = sys::UnmountAll(path_);
      if (!st.ok()) {
        // Leave the directory: removing it while mounted would delete through the mount.
        log::Error("unmount temporary mount", {{"path", path_}, {"error", st.ToString()}});
        return;
      }
    }
    if (::rmdir(path_.c_str()) != 0) {
      log::Warn("remove temporary mount point", {{"path", path_}, {"errno", errno}});
    }
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempMount(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool mounted_ = false;
};

bool HasOption(const sys::Mount& m, absl::string_view option) {
  for (const std::string& o : m.options) {
    if (o == option) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<ApplyResult> ApplyLayerToMounts(int input_fd, std::span<const sys::Mount> mounts,
                                               const std::string& scratch) {
  if (mounts.size() == 1 && mounts[0].type == "overlay") {
    std::string upper;
    std::vector<std::string> lowers;
    for (const std::string& o : mounts[0].options) {
      if (absl::StartsWith(o, "upperdir=")) upper = o.substr(9);
      if (absl::StartsWith(o, "lowerdir=")) {
        lowers = absl::StrSplit(o.substr(9), ':', absl::SkipEmpty());
      }
    }
    if (upper.empty()) return ErrInvalidArgument("upperdir not found");
    ApplyOptions options{.whiteouts = WhiteoutMode::kOverlay, .parents = std::move(lowers)};
    return ApplyLayer(input_fd, upper, options);
  }
  if (mounts.size() == 1 && (mounts[0].type == "bind" || mounts[0].type == "rbind") &&
      !HasOption(mounts[0], "ro")) {
    return ApplyLayer(input_fd, mounts[0].source, ApplyOptions{});
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TempMount> m,
                   TempMount::Create(mounts, scratch, /*readonly=*/false));
  return ApplyLayer(input_fd, m->path(), ApplyOptions{});
}

absl::StatusOr<DiffResult> WriteDiffOfMounts(std::span<const sys::Mount> lower,
                                             std::span<const sys::Mount> upper, int output_fd,
                                             Compression compression, const std::string& scratch) {
  std::unique_ptr<TempMount> lower_mount;
  if (!lower.empty()) {
    ASSIGN_OR_RETURN(lower_mount, TempMount::Create(lower, scratch, /*readonly=*/true));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TempMount> upper_mount,
                   TempMount::Create(upper, scratch, /*readonly=*/true));
  return WriteDiff(lower_mount ? lower_mount->path() : std::string(), upper_mount->path(),
                   output_fd, compression);
}

}  // namespace berth::archive
