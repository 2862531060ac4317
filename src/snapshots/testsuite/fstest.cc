#include "snapshots/testsuite/fstest.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/mount.h"
#include "sys/tree.h"

namespace berth::snapshots::testsuite {
namespace {

std::string At(const std::string& root, const std::string& path) {
  return absl::StrCat(root, path.starts_with("/") ? "" : "/", path);
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  return ErrnoError(errno, absl::StrCat(what, " ", path));
}

// One entry of a tree, rendered for comparison.
std::string Describe(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return absl::StrCat("<lstat: ", std::strerror(errno), ">");
  std::string out = absl::StrFormat("mode=%o uid=%d gid=%d", st.st_mode, st.st_uid, st.st_gid);
  if (S_ISREG(st.st_mode)) {
    absl::StatusOr<std::string> data = sys::ReadFile(path);
    absl::StrAppend(&out, " size=", st.st_size, " content=",
                    data.ok() ? absl::StrCat("\"", data->substr(0, 64), "\"") : "<unreadable>");
  } else if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    absl::StrAppend(&out, " target=", std::filesystem::read_symlink(path, ec).string());
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    absl::StrAppend(&out, " rdev=", st.st_rdev);
  }
  return out;
}

absl::Status Collect(const std::string& root, const std::string& rel,
                     std::map<std::string, std::string>& out) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, sys::ListDir(root + rel));
  for (const std::string& name : names) {
    const std::string entry = absl::StrCat(rel, "/", name);
    const std::string full = root + entry;
    out[entry] = Describe(full);
    struct stat st;
    if (::lstat(full.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      RETURN_IF_ERROR(Collect(root, entry, out));
    }
  }
  return absl::OkStatus();
}

}  // namespace

Applier Apply(std::vector<Applier> appliers) {
  return [appliers = std::move(appliers)](const std::string& root) -> absl::Status {
    for (const Applier& a : appliers) RETURN_IF_ERROR(a(root));
    return absl::OkStatus();
  };
}

Applier CreateFile(const std::string& path, const std::string& content, mode_t mode) {
  return [=](const std::string& root) -> absl::Status {
    const std::string p = At(root, path);
    RETURN_IF_ERROR(sys::WriteFile(p, content, mode));
    if (::chmod(p.c_str(), mode) != 0) return Errno("chmod", p);
    return absl::OkStatus();
  };
}

Applier CreateDir(const std::string& path, mode_t mode) {
  return [=](const std::string& root) -> absl::Status {
    const std::string p = At(root, path);
    if (::mkdir(p.c_str(), mode) != 0) return Errno("mkdir", p);
    if (::chmod(p.c_str(), mode) != 0) return Errno("chmod", p);
    return absl::OkStatus();
  };
}

Applier RemoveAll(const std::string& path) {
  return [=](const std::string& root) { return sys::RemoveAll(At(root, path)); };
}

Applier Chown(const std::string& path, uid_t uid, gid_t gid) {
  return [=](const std::string& root) -> absl::Status {
    const std::string p = At(root, path);
    if (::lchown(p.c_str(), uid, gid) != 0) return Errno("chown", p);
    return absl::OkStatus();
  };
}

Applier Link(const std::string& oldpath, const std::string& newpath) {
  return [=](const std::string& root) -> absl::Status {
    if (::link(At(root, oldpath).c_str(), At(root, newpath).c_str()) != 0) {
      return Errno("link", At(root, newpath));
    }
    return absl::OkStatus();
  };
}

Applier Symlink(const std::string& target, const std::string& path) {
  return [=](const std::string& root) -> absl::Status {
    if (::symlink(target.c_str(), At(root, path).c_str()) != 0) {
      return Errno("symlink", At(root, path));
    }
    return absl::OkStatus();
  };
}

Applier Rename(const std::string& from, const std::string& to) {
  return [=](const std::string& root) -> absl::Status {
    const std::string src = At(root, from), dst = At(root, to);
    if (::rename(src.c_str(), dst.c_str()) == 0) return absl::OkStatus();
    if (errno != EXDEV) return Errno("rename", src);
    // overlayfs without redirect_dir refuses to rename a directory that comes from a lower
    // layer; mv(1) then copies and deletes, and so do we: the tree must end up the same.
    RETURN_IF_ERROR(sys::CopyTree(src, dst));
    return sys::RemoveAll(src);
  };
}

absl::Status CheckDirectoryEqual(const std::string& expected, const std::string& actual) {
  std::map<std::string, std::string> want, got;
  RETURN_IF_ERROR(Collect(expected, "", want));
  RETURN_IF_ERROR(Collect(actual, "", got));
  std::vector<std::string> diffs;
  for (const auto& [path, desc] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      diffs.push_back(absl::StrCat("missing ", path, " (", desc, ")"));
    } else if (it->second != desc) {
      diffs.push_back(absl::StrCat("changed ", path, ": want ", desc, ", got ", it->second));
    }
  }
  for (const auto& [path, desc] : got) {
    if (!want.contains(path)) diffs.push_back(absl::StrCat("extra ", path, " (", desc, ")"));
  }
  if (diffs.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(expected, " and ", actual, " differ:\n  ", absl::StrJoin(diffs, "\n  ")));
}

std::string MakeTempDir(absl::string_view prefix) {
  const char* base = ::getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/", prefix, "XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

std::string MakeTempDirIn(const std::string& dir, absl::string_view prefix) {
  std::string tmpl = absl::StrCat(dir, "/", prefix, "XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  return tmpl;
}

std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    if (fields.size() < 5) continue;
    const std::string& point = fields[4];
    if (point == dir || point.starts_with(dir + "/")) out.push_back(point);
  }
  // Deepest first; duplicates (stacked mounts) stay, each needs its own unmount.
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

bool UnmountUnder(const std::string& dir) {
  for (int round = 0; round < 8; ++round) {
    std::vector<std::string> mounts = MountsUnder(dir);
    if (mounts.empty()) return true;
    for (const std::string& m : mounts) (void)sys::Unmount(m, MNT_DETACH);
  }
  return MountsUnder(dir).empty();
}

bool RemoveTempDir(const std::string& dir) {
  if (dir.empty()) return true;
  if (!UnmountUnder(dir)) return false;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return !ec;
}

}  // namespace berth::snapshots::testsuite
