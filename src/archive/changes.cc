#include "archive/changes.h"

#include <fcntl.h>

#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/status.h"
#include "sys/at.h"

namespace berth::archive {
namespace {

using sys::UniqueFd;

constexpr size_t kCompareChunk = 256 * 1024;
constexpr char kCapability[] = "security.capability";

absl::StatusOr<bool> SameContent(int lower_dirfd, int upper_dirfd, const std::string& name,
                                 int64_t size) {
  ASSIGN_OR_RETURN(UniqueFd a, sys::OpenBeneath(lower_dirfd, name, O_RDONLY));
  ASSIGN_OR_RETURN(UniqueFd b, sys::OpenBeneath(upper_dirfd, name, O_RDONLY));
  auto buf_a = std::make_unique<char[]>(kCompareChunk);
  auto buf_b = std::make_unique<char[]>(kCompareChunk);
  for (int64_t offset = 0;; offset += kCompareChunk) {
    ASSIGN_OR_RETURN(size_t na, sys::PReadFull(a.get(), buf_a.get(), kCompareChunk, offset, name));
    ASSIGN_OR_RETURN(size_t nb, sys::PReadFull(b.get(), buf_b.get(), kCompareChunk, offset, name));
    if (na != nb || std::memcmp(buf_a.get(), buf_b.get(), na) != 0) return false;
    if (na < kCompareChunk) return true;
  }
}

// continuity's sameFile.
absl::StatusOr<bool> SameFile(int lower_dirfd, const struct stat& l, int upper_dirfd,
                              const struct stat& u, const std::string& name) {
  if (l.st_dev == u.st_dev && l.st_ino == u.st_ino) return true;
  if (l.st_mode != u.st_mode || l.st_uid != u.st_uid || l.st_gid != u.st_gid ||
      l.st_rdev != u.st_rdev) {
    return false;
  }
  ASSIGN_OR_RETURN(std::optional<std::string> lcap,
                   sys::LGetXattrAt(lower_dirfd, name, kCapability));
  ASSIGN_OR_RETURN(std::optional<std::string> ucap,
                   sys::LGetXattrAt(upper_dirfd, name, kCapability));
  if (lcap.value_or("") != ucap.value_or("")) return false;
  if (S_ISDIR(u.st_mode)) return true;
  if (l.st_size != u.st_size || l.st_mtim.tv_sec != u.st_mtim.tv_sec) return false;
  if (l.st_mtim.tv_nsec == 0 && u.st_mtim.tv_nsec == 0) {
    if (S_ISLNK(u.st_mode)) {
      ASSIGN_OR_RETURN(std::string lt, sys::ReadlinkAt(lower_dirfd, name));
      ASSIGN_OR_RETURN(std::string ut, sys::ReadlinkAt(upper_dirfd, name));
      return lt == ut;
    }
    if (u.st_size == 0) return true;
    if (!S_ISREG(u.st_mode)) return true;  // devices, fifos: nothing to read
    return SameContent(lower_dirfd, upper_dirfd, name, u.st_size);
  }
  return l.st_mtim.tv_nsec == u.st_mtim.tv_nsec;
}

bool IsLinked(const struct stat& st) { return !S_ISDIR(st.st_mode) && st.st_nlink > 1; }

class Walker {
 public:
  explicit Walker(absl::FunctionRef<absl::Status(const Change&)> fn) : fn_(fn) {}

  // Merges the directory `dir` ("" for the roots) of both trees; either fd may be -1 (absent).
  absl::Status Walk(int lower_fd, int upper_fd, const std::string& dir) {
    std::vector<std::string> lower, upper;
    if (lower_fd >= 0) {
      ASSIGN_OR_RETURN(lower, sys::ReadDirNames(lower_fd, Display(dir)));
    }
    if (upper_fd >= 0) {
      ASSIGN_OR_RETURN(upper, sys::ReadDirNames(upper_fd, Display(dir)));
    }
    size_t i = 0, j = 0;
    while (i < lower.size() || j < upper.size()) {
      int cmp = i == lower.size() ? 1 : j == upper.size() ? -1 : lower[i].compare(upper[j]);
      if (cmp < 0) {
        // Only in lower: deleted (a directory's contents go with it, unreported).
        RETURN_IF_ERROR(
            fn_(Change{ChangeKind::kDelete, Path(dir, lower[i]), nullptr, upper_fd, lower[i]}));
        ++i;
      } else if (cmp > 0) {
        RETURN_IF_ERROR(Visit(-1, upper_fd, dir, upper[j]));
        ++j;
      } else {
        RETURN_IF_ERROR(Visit(lower_fd, upper_fd, dir, upper[j]));
        ++i;
        ++j;
      }
    }
    return absl::OkStatus();
  }

 private:
  static std::string Path(const std::string& dir, const std::string& name) {
    return absl::StrCat(dir, "/", name);
  }
  static std::string Display(const std::string& dir) { return dir.empty() ? "/" : dir; }

  // `name` exists in upper, and in lower too when lower_fd >= 0.
  absl::Status Visit(int lower_fd, int upper_fd, const std::string& dir, const std::string& name) {
    std::string path = Path(dir, name);
    ASSIGN_OR_RETURN(struct stat u, sys::LstatAt(upper_fd, name));
    std::optional<struct stat> l;
    if (lower_fd >= 0) {
      ASSIGN_OR_RETURN(l, sys::LstatAt(lower_fd, name));
    }

    ChangeKind kind = ChangeKind::kAdd;
    bool report = true;
    if (l.has_value()) {
      ASSIGN_OR_RETURN(bool same, SameFile(lower_fd, *l, upper_fd, u, name));
      kind = ChangeKind::kModify;
      if (same) {
        kind = ChangeKind::kUnmodified;
        report = IsLinked(u);
      }
    }
    if (report) RETURN_IF_ERROR(fn_(Change{kind, path, &u, upper_fd, name}));

    if (!S_ISDIR(u.st_mode)) return absl::OkStatus();
    ASSIGN_OR_RETURN(UniqueFd upper_sub, sys::OpenBeneath(upper_fd, name, O_RDONLY | O_DIRECTORY));
    UniqueFd lower_sub;
    if (l.has_value() && S_ISDIR(l->st_mode)) {
      ASSIGN_OR_RETURN(lower_sub, sys::OpenBeneath(lower_fd, name, O_RDONLY | O_DIRECTORY));
    }
    return Walk(lower_sub.valid() ? lower_sub.get() : -1, upper_sub.get(), path);
  }

  absl::FunctionRef<absl::Status(const Change&)> fn_;
};

}  // namespace

absl::Status Changes(int lower_fd, int upper_fd,
                     absl::FunctionRef<absl::Status(const Change&)> fn) {
  Walker walker(fn);
  return walker.Walk(lower_fd, upper_fd, "");
}

}  // namespace berth::archive
