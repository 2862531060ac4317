#include "sys/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/unique_fd.h"

namespace berth::sys {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

std::string Join(const std::string& dir, const std::string& name) {
  return absl::StrCat(dir, "/", name);
}

absl::Status CopyContent(const std::string& src, const std::string& dst, const struct stat& st) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in.valid()) return ErrnoError(errno, absl::StrCat("open ", src));
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out.valid()) return ErrnoError(errno, absl::StrCat("create ", dst));
  off_t remaining = st.st_size;
  bool first = true;
  while (remaining > 0) {
    ssize_t n =
        ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(remaining), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && first &&
        (errno == ENOSYS || errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL)) {
      break;  // not supported between these files: copy through user space below
    }
    if (n < 0) return ErrnoError(errno, absl::StrCat("copy_file_range ", src, " to ", dst));
    if (n == 0) return absl::OkStatus();  // the source shrank while copying
    remaining -= n;
    first = false;
  }
  if (remaining <= 0) return absl::OkStatus();
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("read ", src));
    if (n == 0) return absl::OkStatus();
    RETURN_IF_ERROR(WriteAll(out.get(), absl::string_view(buf, static_cast<size_t>(n)), dst));
  }
}

// Copies the extended attributes of `src` to `dst` (neither followed if a symlink). Attributes
// the kernel refuses are skipped, like containerd's native snapshotter does.
void CopyXattrs(const std::string& src, const std::string& dst) {
  ssize_t size = ::llistxattr(src.c_str(), nullptr, 0);
  if (size <= 0) return;
  std::string names(static_cast<size_t>(size), '\0');
  size = ::llistxattr(src.c_str(), names.data(), names.size());
  if (size <= 0) return;
  names.resize(static_cast<size_t>(size));
  for (size_t pos = 0; pos < names.size();) {
    std::string name = names.c_str() + pos;
    pos += name.size() + 1;
    ssize_t vsize = ::lgetxattr(src.c_str(), name.c_str(), nullptr, 0);
    if (vsize < 0) continue;
    std::string value(static_cast<size_t>(vsize), '\0');
    vsize = ::lgetxattr(src.c_str(), name.c_str(), value.data(), value.size());
    if (vsize < 0) continue;
    value.resize(static_cast<size_t>(vsize));
    if (::lsetxattr(dst.c_str(), name.c_str(), value.data(), value.size(), 0) != 0) {
      log::Debug("skipped xattr on copy",
                 {{"path", dst}, {"xattr", name}, {"error", std::strerror(errno)}});
    }
  }
}

// Ownership, mode (after chown, which clears setuid bits), times and xattrs of `src` onto `dst`.
absl::Status CopyMetadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0) {
    int err = errno;
    // Some file systems refuse even a no-op chown (EPERM on NFS): fine if already right.
    struct stat cur;
    if (err != EPERM || ::lstat(dst.c_str(), &cur) != 0 || cur.st_uid != st.st_uid ||
        cur.st_gid != st.st_gid) {
      return ErrnoError(err, absl::StrCat("chown ", dst));
    }
  }
  if (!S_ISLNK(st.st_mode) && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) {
    return ErrnoError(errno, absl::StrCat("chmod ", dst));
  }
  CopyXattrs(src, dst);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("set times of ", dst));
  }
  return absl::OkStatus();
}

// Source inode -> the first path it was copied to, for hard links.
using Inodes = std::map<std::pair<dev_t, ino_t>, std::string>;

absl::Status CopyDir(const std::string& src, const std::string& dst, const struct stat& st,
                     Inodes& inodes) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(src));
  for (const std::string& name : names) {
    const std::string from = Join(src, name);
    const std::string to = Join(dst, name);
    struct stat est;
    if (::lstat(from.c_str(), &est) != 0) return ErrnoError(errno, absl::StrCat("stat ", from));
    switch (est.st_mode & S_IFMT) {
      case S_IFDIR:
        if (::mkdir(to.c_str(), 0700) != 0) return ErrnoError(errno, absl::StrCat("mkdir ", to));
        RETURN_IF_ERROR(CopyDir(from, to, est, inodes));
        continue;  // CopyDir applied the metadata, after the children
      case S_IFREG: {
        if (est.st_nlink > 1) {
          auto [it, inserted] = inodes.try_emplace({est.st_dev, est.st_ino}, to);
          if (!inserted) {
            if (::link(it->second.c_str(), to.c_str()) != 0) {
              return ErrnoError(errno, absl::StrCat("link ", to, " to ", it->second));
            }
            continue;  // shares the metadata already applied to the first link
          }
        }
        RETURN_IF_ERROR(CopyContent(from, to, est));
        break;
      }
      case S_IFLNK: {
        std::string target(static_cast<size_t>(est.st_size) + 1, '\0');
        ssize_t n = ::readlink(from.c_str(), target.data(), target.size());
        if (n < 0) return ErrnoError(errno, absl::StrCat("readlink ", from));
        target.resize(static_cast<size_t>(n));
        if (::symlink(target.c_str(), to.c_str()) != 0) {
          return ErrnoError(errno, absl::StrCat("symlink ", to));
        }
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        if (::mknod(to.c_str(), est.st_mode, est.st_rdev) != 0) {
          return ErrnoError(errno, absl::StrCat("mknod ", to));
        }
        break;
      default:
        log::Warn("unsupported file type, not copied", {{"path", from}});
        continue;
    }
    RETURN_IF_ERROR(CopyMetadata(from, to, est));
  }
  // Last, so that creating the children does not move the directory's mtime.
  return CopyMetadata(src, dst, st);
}

absl::Status Usage(const std::string& path, std::set<std::pair<dev_t, ino_t>>& seen,
                   TreeUsage& usage) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", path));
  if (seen.emplace(st.st_dev, st.st_ino).second) {
    usage.inodes++;
    usage.size += static_cast<int64_t>(st.st_blocks) * 512;
  }
  if (!S_ISDIR(st.st_mode)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
  for (const std::string& name : names) RETURN_IF_ERROR(Usage(Join(path, name), seen, usage));
  return absl::OkStatus();
}

}  // namespace

absl::Status CopyTree(const std::string& src, const std::string& dst) {
  struct stat st;
  if (::stat(src.c_str(), &st) != 0) return ErrnoError(errno, absl::StrCat("stat ", src));
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("source ", src, " is not a directory"));
  }
  struct stat dst_st;
  if (::stat(dst.c_str(), &dst_st) != 0) {
    if (errno != ENOENT) return ErrnoError(errno, absl::StrCat("stat ", dst));
    if (::mkdir(dst.c_str(), 0700) != 0) return ErrnoError(errno, absl::StrCat("mkdir ", dst));
  } else if (!S_ISDIR(dst_st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot copy to non-directory: ", dst));
  }
  Inodes inodes;
  return CopyDir(src, dst, st, inodes);
}

absl::StatusOr<TreeUsage> DiskUsage(const std::string& root) {
  TreeUsage usage;
  std::set<std::pair<dev_t, ino_t>> seen;
  RETURN_IF_ERROR(Usage(root, seen, usage));
  return usage;
}

absl::StatusOr<bool> SupportsDType(const std::string& dir) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  std::string probe;
  if (names.empty()) {
    // readdir must return at least one real entry to tell anything.
    probe = Join(dir, ".dtype-probe");
    RETURN_IF_ERROR(WriteFile(probe, "", 0600));
  }
  DIR* d = ::opendir(dir.c_str());
  int open_err = errno;
  bool supported = true;
  bool any = false;
  if (d != nullptr) {
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      any = true;
      if (e->d_type == DT_UNKNOWN) {
        supported = false;
        break;
      }
    }
    ::closedir(d);
  }
  if (!probe.empty()) ::unlink(probe.c_str());
  if (d == nullptr) return ErrnoError(open_err, absl::StrCat("open ", dir));
  if (!any) return absl::InternalError(absl::StrCat("no directory entries read from ", dir));
  return supported;
}

absl::StatusOr<bool> IsTmpfs(const std::string& path) {
  struct statfs st;
  if (::statfs(path.c_str(), &st) != 0) return ErrnoError(errno, absl::StrCat("statfs ", path));
  return static_cast<long>(st.f_type) == kTmpfsMagic;
}

}  // namespace berth::sys
