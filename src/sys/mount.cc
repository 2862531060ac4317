#include "sys/mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/status.h"

namespace berth::sys {
namespace {

// The kernel copies one page of mount data; containerd compacts once the options come within
// 512 bytes of it, leaving room for the separators and the other options.
constexpr size_t kPageSize = 4096;
constexpr size_t kCompactThreshold = kPageSize - 512;

struct FlagOption {
  const char* name;
  bool clear;  // the option clears `flag` instead of setting it
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"async", true, MS_SYNCHRONOUS},
    {"atime", true, MS_NOATIME},
    {"bind", false, MS_BIND},
    {"dev", true, MS_NODEV},
    {"diratime", true, MS_NODIRATIME},
    {"dirsync", false, MS_DIRSYNC},
    {"exec", true, MS_NOEXEC},
    {"mand", false, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"nodev", false, MS_NODEV},
    {"nodiratime", false, MS_NODIRATIME},
    {"noexec", false, MS_NOEXEC},
    {"nomand", true, MS_MANDLOCK},
    {"norelatime", true, MS_RELATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"nosuid", false, MS_NOSUID},
    {"rbind", false, MS_BIND | MS_REC},
    {"relatime", false, MS_RELATIME},
    {"remount", false, MS_REMOUNT},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"strictatime", false, MS_STRICTATIME},
    {"suid", true, MS_NOSUID},
    {"sync", false, MS_SYNCHRONOUS},
};

struct PropagationOption {
  const char* name;
  unsigned long flags;
};

constexpr PropagationOption kPropagationOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

size_t OptionsSize(std::span<const std::string> options) {
  size_t size = 0;
  for (const std::string& o : options) size += o.size();
  return size;
}

std::string LongestCommonPrefix(const std::vector<std::string>& strs) {
  if (strs.empty()) return "";
  // The common prefix of all strings is the common prefix of the smallest and the largest.
  auto [min, max] = std::minmax_element(strs.begin(), strs.end());
  size_t i = 0;
  while (i < min->size() && i < max->size() && (*min)[i] == (*max)[i]) ++i;
  return min->substr(0, i);
}

// path.Dir without cleaning: the part before the last '/', "/" for top-level paths.
std::string Dir(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Describes a mount for error messages; the data of deep overlays is long, so it is cut.
std::string Describe(const Mount& m, const std::string& target) {
  std::string options = absl::StrJoin(m.options, ",");
  if (options.size() > 256) options = absl::StrCat(options.substr(0, 256), "...");
  return absl::StrCat("mount ", m.type, " ", m.source, " on ", target, " (", options, ")");
}

// What MountFromDir's thread needs and reports.
struct DirMount {
  const std::string* dir;
  const std::string* source;
  const std::string* target;
  const std::string* type;
  unsigned long flags;
  const std::string* data;
  int err = 0;
  const char* failed_step = nullptr;
};

void* DirMountThread(void* arg) {
  auto* m = static_cast<DirMount*>(arg);
  if (::unshare(CLONE_FS) != 0) {
    m->err = errno;
    m->failed_step = "unshare(CLONE_FS)";
  } else if (::chdir(m->dir->c_str()) != 0) {
    m->err = errno;
    m->failed_step = "chdir";
  } else if (::mount(m->source->c_str(), m->target->c_str(), m->type->c_str(), m->flags,
                     m->data->c_str()) != 0) {
    m->err = errno;
    m->failed_step = "mount";
  }
  return nullptr;
}

// mount(2) from a thread whose cwd is `dir`, so relative paths in `data` resolve against it.
// The thread unshares its fs attributes (cwd, root, umask) first: its chdir() then affects only
// itself, never the daemon's other threads, and the thread ends right after. (A plain pthread,
// not std::thread, so that failing to create it is an error, not an exception.)
absl::Status MountFromDir(const std::string& dir, const std::string& source,
                          const std::string& target, const std::string& type, unsigned long flags,
                          const std::string& data) {
  DirMount m{.dir = &dir,
             .source = &source,
             .target = &target,
             .type = &type,
             .flags = flags,
             .data = &data};
  pthread_t thread;
  if (int err = ::pthread_create(&thread, nullptr, DirMountThread, &m); err != 0) {
    return ErrnoError(err, "create mount thread");
  }
  if (int err = ::pthread_join(thread, nullptr); err != 0) {
    return ErrnoError(err, "join mount thread");
  }
  if (m.err != 0) return ErrnoError(m.err, absl::StrCat(m.failed_step, " (from ", dir, ")"));
  return absl::OkStatus();
}

// umount2 with containerd's retries on EBUSY; returns 0 or an errno.
int UnmountRetrying(const std::string& target, int flags) {
  for (int i = 0; i < 50; ++i) {
    if (::umount2(target.c_str(), flags) == 0) return 0;
    if (errno != EBUSY) return errno;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return EBUSY;
}

}  // namespace

MountOptions ParseMountOptions(std::span<const std::string> options) {
  MountOptions out;
  std::vector<absl::string_view> data;
  for (const std::string& o : options) {
    if (o == "defaults") continue;
    if (o == "loop") {
      out.loop = true;
      continue;
    }
    auto flag = std::find_if(std::begin(kFlagOptions), std::end(kFlagOptions),
                             [&](const FlagOption& f) { return o == f.name; });
    if (flag != std::end(kFlagOptions)) {
      if (flag->clear) {
        out.flags &= ~flag->flag;
      } else {
        out.flags |= flag->flag;
      }
      continue;
    }
    auto prop = std::find_if(std::begin(kPropagationOptions), std::end(kPropagationOptions),
                             [&](const PropagationOption& p) { return o == p.name; });
    if (prop != std::end(kPropagationOptions)) {
      out.propagation = prop->flags;  // one propagation type; the last one given wins
      continue;
    }
    data.push_back(o);
  }
  out.data = absl::StrJoin(data, ",");
  return out;
}

CompactedOptions CompactLowerdirOption(std::span<const std::string> options) {
  CompactedOptions out{.dir = "", .options = {options.begin(), options.end()}};
  constexpr absl::string_view kPrefix = "lowerdir=";
  auto it = std::find_if(options.begin(), options.end(),
                         [&](const std::string& o) { return absl::StartsWith(o, kPrefix); });
  if (it == options.end()) return out;
  std::vector<std::string> dirs =
      absl::StrSplit(absl::string_view(*it).substr(kPrefix.size()), ':');
  if (dirs.size() < 2) return out;

  std::string common = LongestCommonPrefix(dirs);
  if (common.empty()) return out;
  // Back up to a directory boundary: "/r/snapshots/1" (common to 12/fs and 13/fs) ->
  // "/r/snapshots".
  common = Dir(common);
  if (common == "/" || common == ".") return out;
  common += "/";
  for (const std::string& d : dirs) {
    if (d.size() <= common.size()) return out;  // a lowerdir equal to the parent itself
  }

  std::vector<std::string> relative;
  relative.reserve(dirs.size());
  for (const std::string& d : dirs) relative.push_back(d.substr(common.size()));
  out.options.erase(out.options.begin() + (it - options.begin()));
  out.options.push_back(absl::StrCat(kPrefix, absl::StrJoin(relative, ":")));
  out.dir = std::move(common);
  return out;
}

absl::Status MountAt(const Mount& m, const std::string& target_in) {
  if (absl::StartsWith(m.type, "fuse.") || absl::StartsWith(m.type, "fuse3.")) {
    return absl::UnimplementedError(
        absl::StrCat(Describe(m, target_in), ": FUSE mount helpers are not supported"));
  }
  std::string target = target_in;
  std::string chdir;
  std::vector<std::string> options = m.options;
  if (m.type == "overlay" && OptionsSize(options) >= kCompactThreshold) {
    CompactedOptions compacted = CompactLowerdirOption(options);
    chdir = std::move(compacted.dir);
    options = std::move(compacted.options);
    if (!chdir.empty() && !absl::StartsWith(target, "/")) {
      // The mount runs from another cwd: anchor a relative target to ours first.
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof(cwd)) == nullptr) return ErrnoError(errno, "getcwd");
      target = absl::StrCat(cwd, "/", target);
    }
  }

  MountOptions parsed = ParseMountOptions(options);
  if (parsed.loop) {
    return absl::UnimplementedError(
        absl::StrCat(Describe(m, target), ": loop devices are not supported"));
  }
  if (parsed.data.size() >= kPageSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(m, target), ": mount options is too long"));
  }

  const unsigned long flags = parsed.flags;
  // A remount that changes no data needs only the follow-up calls below.
  if ((flags & MS_REMOUNT) == 0 || !parsed.data.empty()) {
    if (chdir.empty()) {
      if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, parsed.data.c_str()) !=
          0) {
        return ErrnoError(errno, Describe(m, target));
      }
    } else {
      RETURN_IF_ERROR(Annotate(MountFromDir(chdir, m.source, target, m.type, flags, parsed.data),
                               Describe(m, target)));
    }
  }
  if (parsed.propagation != 0) {
    if (::mount("", target.c_str(), "", parsed.propagation, nullptr) != 0) {
      return ErrnoError(errno, absl::StrCat("set propagation of ", target));
    }
  }
  // The kernel ignores MS_RDONLY when it creates a bind mount; it takes a remount.
  if ((flags & (MS_BIND | MS_RDONLY)) == (MS_BIND | MS_RDONLY)) {
    if (::mount("", target.c_str(), "", flags | MS_REMOUNT, nullptr) != 0) {
      return ErrnoError(errno, absl::StrCat("remount ", target, " read-only"));
    }
  }
  return absl::OkStatus();
}

absl::Status MountAll(std::span<const Mount> mounts, const std::string& target) {
  for (const Mount& m : mounts) RETURN_IF_ERROR(MountAt(m, target));
  return absl::OkStatus();
}

absl::Status Unmount(const std::string& target, int flags) {
  int err = UnmountRetrying(target, flags);
  if (err == 0 || err == EINVAL) return absl::OkStatus();
  return ErrnoError(err, absl::StrCat("unmount ", target));
}

absl::Status UnmountAll(const std::string& target, int flags) {
  if (target.empty()) return absl::OkStatus();
  struct stat st;
  if (::lstat(target.c_str(), &st) != 0 && errno == ENOENT) return absl::OkStatus();
  for (;;) {
    int err = UnmountRetrying(target, flags);
    // EINVAL: no longer a mount point (or, indistinguishably, bad flags), so we are done.
    if (err == EINVAL) return absl::OkStatus();
    if (err != 0) return ErrnoError(err, absl::StrCat("unmount ", target));
  }
}

absl::Status DetachAll(const std::string& target, std::vector<UniqueFd>* holds) {
  if (target.empty()) return absl::OkStatus();
  for (;;) {
    // The fd pins the top mount's file system; opening the target resolves to that mount.
    UniqueFd hold(::open(target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!hold.valid()) {
      if (errno == ENOENT) return absl::OkStatus();
      return ErrnoError(errno, absl::StrCat("open ", target));
    }
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
      // EINVAL: no longer a mount point, so we are done (the fd was on a plain directory).
      if (errno == EINVAL) return absl::OkStatus();
      return ErrnoError(errno, absl::StrCat("detach ", target));
    }
    holds->push_back(std::move(hold));
  }
}

}  // namespace berth::sys
