#include "sys/at.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/status.h"

namespace berth::sys {
namespace {

std::string ProcPath(int dirfd, const std::string& name) {
  return absl::StrCat("/proc/self/fd/", dirfd, "/", name);
}

// Absent attribute or no xattr support at all: both read as "no value".
bool NoXattr(int err) { return err == ENODATA || err == ENOTSUP; }

// openat2 returning the fd, or -1 with errno set.
int RawOpenAt2(int dirfd, const std::string& path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    // EAGAIN: a concurrent rename elsewhere on the system made the kernel abort a confined
    // lookup; retrying is what the man page prescribes.
    if (errno != EINTR && errno != EAGAIN) return -1;
  }
}

constexpr uint64_t kBeneathOnly = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV;

}  // namespace

absl::StatusOr<UniqueFd> OpenAt2(int dirfd, const std::string& path, int flags, mode_t mode,
                                 uint64_t resolve) {
  int fd = RawOpenAt2(dirfd, path, flags, mode, resolve);
  if (fd < 0) return ErrnoError(errno, absl::StrCat("open ", path));
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags) {
  return OpenAt2(root_fd, path.empty() ? "." : path, flags, 0,
                 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
}

absl::StatusOr<UniqueFd> OpenBeneath(int dirfd, const std::string& name, int flags, mode_t mode) {
  return OpenAt2(dirfd, name, flags, mode, kBeneathOnly);
}

absl::StatusOr<struct stat> LstatAt(int dirfd, const std::string& name) {
  struct stat st;
  int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (::fstatat(dirfd, name.c_str(), &st, flags) != 0) {
    return ErrnoError(errno, absl::StrCat("lstat ", name));
  }
  return st;
}

absl::Status MkdirAt(int dirfd, const std::string& name, mode_t mode) {
  if (::mkdirat(dirfd, name.c_str(), mode) != 0) {
    return ErrnoError(errno, absl::StrCat("mkdir ", name));
  }
  return absl::OkStatus();
}

absl::Status MknodAt(int dirfd, const std::string& name, mode_t mode, dev_t dev) {
  if (::mknodat(dirfd, name.c_str(), mode, dev) != 0) {
    return ErrnoError(errno, absl::StrCat("mknod ", name));
  }
  return absl::OkStatus();
}

absl::Status SymlinkAt(const std::string& target, int dirfd, const std::string& name) {
  if (::symlinkat(target.c_str(), dirfd, name.c_str()) != 0) {
    return ErrnoError(errno, absl::StrCat("symlink ", name, " -> ", target));
  }
  return absl::OkStatus();
}

absl::Status LinkAt(int old_dirfd, const std::string& old_name, int new_dirfd,
                    const std::string& new_name) {
  if (::linkat(old_dirfd, old_name.c_str(), new_dirfd, new_name.c_str(), 0) != 0) {
    return ErrnoError(errno, absl::StrCat("link ", new_name, " to ", old_name));
  }
  return absl::OkStatus();
}

absl::Status UnlinkAt(int dirfd, const std::string& name, int flags) {
  if (::unlinkat(dirfd, name.c_str(), flags) != 0) {
    return ErrnoError(errno, absl::StrCat((flags & AT_REMOVEDIR) ? "rmdir " : "unlink ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadlinkAt(int dirfd, const std::string& name) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return ErrnoError(errno, absl::StrCat("readlink ", name));
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

absl::Status LchownAt(int dirfd, const std::string& name, uid_t uid, gid_t gid) {
  if (::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("lchown ", name));
  }
  return absl::OkStatus();
}

absl::Status ChmodAtNoFollow(int dirfd, const std::string& name, mode_t mode) {
  // glibc implements AT_SYMLINK_NOFOLLOW with an O_PATH descriptor and refuses symlinks itself,
  // so a symlink planted at `name` can never redirect the chmod.
  if (::fchmodat(dirfd, name.c_str(), mode, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("chmod ", name));
  }
  return absl::OkStatus();
}

absl::Status LutimesAt(int dirfd, const std::string& name, const struct timespec times[2]) {
  if (::utimensat(dirfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError(errno, absl::StrCat("utimes ", name));
  }
  return absl::OkStatus();
}

absl::Status FChown(int fd, uid_t uid, gid_t gid, const std::string& path_for_errors) {
  if (::fchown(fd, uid, gid) != 0)
    return ErrnoError(errno, absl::StrCat("chown ", path_for_errors));
  return absl::OkStatus();
}

absl::Status FChmod(int fd, mode_t mode, const std::string& path_for_errors) {
  if (::fchmod(fd, mode) != 0) return ErrnoError(errno, absl::StrCat("chmod ", path_for_errors));
  return absl::OkStatus();
}

absl::Status FUtimens(int fd, const struct timespec times[2], const std::string& path_for_errors) {
  if (::futimens(fd, times) != 0)
    return ErrnoError(errno, absl::StrCat("utimes ", path_for_errors));
  return absl::OkStatus();
}

absl::Status PWriteAll(int fd, absl::string_view data, int64_t offset,
                       const std::string& path_for_errors) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, absl::StrCat("write ", path_for_errors));
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> PReadFull(int fd, char* buf, size_t size, int64_t offset,
                                 const std::string& path_for_errors) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd, buf + done, size - done, offset + static_cast<int64_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError(errno, absl::StrCat("read ", path_for_errors));
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status FTruncate(int fd, int64_t size, const std::string& path_for_errors) {
  if (::ftruncate(fd, size) != 0) {
    return ErrnoError(errno, absl::StrCat("truncate ", path_for_errors));
  }
  return absl::OkStatus();
}

absl::Status FSetXattr(int fd, const std::string& key, absl::string_view value,
                       const std::string& path_for_errors) {
  if (::fsetxattr(fd, key.c_str(), value.data(), value.size(), 0) != 0) {
    return ErrnoError(errno, absl::StrCat("setxattr ", key, " on ", path_for_errors));
  }
  return absl::OkStatus();
}

absl::Status LSetXattrAt(int dirfd, const std::string& name, const std::string& key,
                         absl::string_view value) {
  std::string path = ProcPath(dirfd, name);
  if (::lsetxattr(path.c_str(), key.c_str(), value.data(), value.size(), 0) != 0) {
    return ErrnoError(errno, absl::StrCat("setxattr ", key, " on ", name));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> FGetXattr(int fd, const std::string& key,
                                                     const std::string& path_for_errors) {
  for (;;) {
    ssize_t size = ::fgetxattr(fd, key.c_str(), nullptr, 0);
    if (size < 0) {
      if (NoXattr(errno)) return std::nullopt;
      return ErrnoError(errno, absl::StrCat("getxattr ", key, " on ", path_for_errors));
    }
    std::string value(static_cast<size_t>(size), '\0');
    ssize_t n = ::fgetxattr(fd, key.c_str(), value.data(), value.size());
    if (n < 0 && errno == ERANGE) continue;  // grew in between
    if (n < 0) {
      if (NoXattr(errno)) return std::nullopt;
      return ErrnoError(errno, absl::StrCat("getxattr ", key, " on ", path_for_errors));
    }
    value.resize(static_cast<size_t>(n));
    return value;
  }
}

absl::StatusOr<std::optional<std::string>> LGetXattrAt(int dirfd, const std::string& name,
                                                       const std::string& key) {
  std::string path = ProcPath(dirfd, name);
  for (;;) {
    ssize_t size = ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (size < 0) {
      if (NoXattr(errno)) return std::nullopt;
      return ErrnoError(errno, absl::StrCat("getxattr ", key, " on ", name));
    }
    std::string value(static_cast<size_t>(size), '\0');
    ssize_t n = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
    if (n < 0 && errno == ERANGE) continue;
    if (n < 0) {
      if (NoXattr(errno)) return std::nullopt;
      return ErrnoError(errno, absl::StrCat("getxattr ", key, " on ", name));
    }
    value.resize(static_cast<size_t>(n));
    return value;
  }
}

absl::StatusOr<std::vector<std::string>> FListXattr(int fd, const std::string& path_for_errors) {
  for (;;) {
    ssize_t size = ::flistxattr(fd, nullptr, 0);
    if (size < 0) {
      if (errno == ENOTSUP) return std::vector<std::string>{};
      return ErrnoError(errno, absl::StrCat("listxattr ", path_for_errors));
    }
    std::string buf(static_cast<size_t>(size), '\0');
    ssize_t n = ::flistxattr(fd, buf.data(), buf.size());
    if (n < 0 && errno == ERANGE) continue;
    if (n < 0) return ErrnoError(errno, absl::StrCat("listxattr ", path_for_errors));
    std::vector<std::string> keys;
    size_t start = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\0') continue;
      if (i > start) keys.emplace_back(buf, start, i - start);
      start = i + 1;
    }
    return keys;
  }
}

absl::StatusOr<std::vector<std::string>> ReadDirNames(int dirfd,
                                                      const std::string& path_for_errors) {
  // fdopendir takes ownership of its descriptor, so hand it a duplicate; the two share an offset,
  // hence the rewind.
  int dup = ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoError(errno, absl::StrCat("dup ", path_for_errors));
  DIR* d = ::fdopendir(dup);
  if (d == nullptr) {
    int err = errno;
    ::close(dup);
    return ErrnoError(err, absl::StrCat("opendir ", path_for_errors));
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' &&
        (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) {
      continue;
    }
    names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return ErrnoError(err, absl::StrCat("readdir ", path_for_errors));
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RemoveAllAt(int dirfd, const std::string& name) {
  absl::StatusOr<struct stat> st = LstatAt(dirfd, name);
  if (!st.ok()) return absl::IsNotFound(st.status()) ? absl::OkStatus() : st.status();
  if (S_ISDIR(st->st_mode)) {
    UniqueFd dir(RawOpenAt2(dirfd, name, O_RDONLY | O_DIRECTORY, 0, kBeneathOnly));
    if (!dir.valid()) {
      if (errno == ENOENT) return absl::OkStatus();
      if (errno == EXDEV) {
        return absl::FailedPreconditionError(
            absl::StrCat("refusing to remove ", name, ": it is a mount point"));
      }
      return ErrnoError(errno, absl::StrCat("open ", name));
    }
    ASSIGN_OR_RETURN(std::vector<std::string> children, ReadDirNames(dir.get(), name));
    for (const std::string& child : children) {
      RETURN_IF_ERROR(Annotate(RemoveAllAt(dir.get(), child), name));
    }
    absl::Status removed = UnlinkAt(dirfd, name, AT_REMOVEDIR);
    return absl::IsNotFound(removed) ? absl::OkStatus() : removed;
  }
  absl::Status removed = UnlinkAt(dirfd, name, 0);
  return absl::IsNotFound(removed) ? absl::OkStatus() : removed;
}

absl::StatusOr<std::string> FdPath(int fd) {
  char buf[4096];
  std::string link = absl::StrCat("/proc/self/fd/", fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof(buf));
  if (n < 0) return ErrnoError(errno, absl::StrCat("readlink ", link));
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace berth::sys
