#include "archive/apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "archive/tar_reader.h"
#include "base/log.h"
#include "base/status.h"
#include "sys/at.h"
#include "sys/file.h"

namespace berth::archive {
namespace {

using sys::UniqueFd;

// File data is gathered into writes of up to this size; larger blocks are written directly.
constexpr size_t kWriteBufferSize = 1 << 20;
// Symlinks followed while creating missing parents (the kernel's own limit is 40).
constexpr int kMaxParentSymlinks = 40;

std::pair<std::string, std::string> SplitDir(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// Go's boundTime: the kernel (and Go) cannot represent times outside [1970, 2262] as
// nanoseconds since the epoch; containerd maps those to the epoch.
struct timespec BoundTime(struct timespec t) {
  constexpr int64_t kMaxSeconds = INT64_MAX / 1000000000;
  if (t.tv_sec < 0 || t.tv_sec > kMaxSeconds) return timespec{0, 0};
  return t;
}

bool Before(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// atime, mtime as containerd sets them: the access time is never before the modification time.
void EntryTimes(const TarEntry& e, struct timespec times[2]) {
  struct timespec atime = e.mtime;
  if (e.atime.has_value() && !Before(*e.atime, e.mtime)) atime = *e.atime;
  times[0] = BoundTime(atime);
  times[1] = BoundTime(e.mtime);
}

std::string Quoted(absl::string_view name) {
  return absl::StrCat("\"", absl::CHexEscape(name), "\"");
}

class Applier {
 public:
  Applier(int root_fd, const ApplyOptions& options, std::vector<UniqueFd> parents,
          std::string root_path)
      : root_fd_(root_fd),
        options_(options),
        parents_(std::move(parents)),
        root_path_(std::move(root_path)) {}

  absl::Status Apply(const TarEntry& e, TarReader& reader);
  // Sets the times of the directories applied, now that their contents are in place.
  absl::Status Finish();

  int64_t entries() const { return entries_; }
  int64_t whiteouts() const { return whiteouts_; }

 private:
  struct Parent {
    int fd;
    ino_t ino;
  };
  struct DirTimes {
    std::string rel;
    struct timespec times[2];
  };

  absl::StatusOr<Parent> ParentDir(const std::string& dir);
  absl::StatusOr<UniqueFd> MakeParents(std::string dir);
  absl::Status CopyParentAttrs(int created_fd);
  absl::Status ApplyWhiteout(const TarEntry& e, const Parent& parent, const std::string& base);
  absl::Status RemoveLowerEntries(int dirfd, const std::string& path_for_errors);
  // Creates the entry's node (for a regular file: opened for writing, data not yet written).
  absl::StatusOr<UniqueFd> MakeNode(const TarEntry& e, int dirfd, const std::string& base);
  // Data, then ownership, xattrs, mode and times.
  absl::Status FinishNode(const TarEntry& e, int dirfd, const std::string& base, UniqueFd fd,
                          TarReader& reader);
  absl::Status WriteData(int fd, const TarEntry& e, TarReader& reader);
  absl::Status SetXattrs(const TarEntry& e, int fd, int dirfd, const std::string& base);
  // Ownership, xattrs, mode and times of `base` in `dirfd` (not followed if a symlink).
  absl::Status SetMetadataAt(const TarEntry& e, int dirfd, const std::string& base, bool is_link);

  static std::string UnpackedKey(ino_t dir_ino, const std::string& base) {
    return absl::StrCat(dir_ino, "/", base);
  }

  const int root_fd_;
  const ApplyOptions& options_;
  const std::vector<UniqueFd> parents_;
  const std::string root_path_;  // root's path as the kernel reports it (for `parents` only)

  // The last parent directory resolved: consecutive entries of a directory share it. An entry
  // only ever changes things strictly below its parent, so the descriptor stays right for as long
  // as the parent path stays the same; any other parent replaces it.
  std::string cached_dir_;
  UniqueFd cached_fd_;
  ino_t cached_ino_ = 0;

  // What this layer put in place, as (directory inode, name): an opaque whiteout removes
  // everything else. Inodes rather than paths, so that a name reached through a symlink and the
  // same entry reached directly agree, as containerd's resolved paths do.
  std::unordered_set<std::string> unpacked_;
  std::vector<DirTimes> dirs_;
  std::unique_ptr<char[]> buf_;
  int64_t entries_ = 0;
  int64_t whiteouts_ = 0;
};

absl::Status Applier::Apply(const TarEntry& e, TarReader& reader) {
  std::string rel = CleanLayerPath(e.name);
  if (rel.empty()) {
    log::Debug("layer entry resolves to the root; ignored", {{"name", e.name}});
    return absl::OkStatus();
  }
  auto [dir, base] = SplitDir(rel);
  ASSIGN_OR_RETURN(Parent parent, ParentDir(dir));
  ++entries_;

  if (absl::StartsWith(base, kWhiteoutPrefix)) return ApplyWhiteout(e, parent, base);

  // Create first and look only if something is in the way: applying into an empty directory (a
  // fresh snapshot, always the case for an overlay upperdir) then costs no lookup per entry.
  absl::StatusOr<UniqueFd> node = MakeNode(e, parent.fd, base);
  if (!node.ok()) {
    absl::StatusOr<struct stat> existing = sys::LstatAt(parent.fd, base);
    if (!existing.ok()) return node.status();  // nothing in the way: the creation itself failed
    if (S_ISDIR(existing->st_mode) && e.type == EntryType::kDir) {
      node = UniqueFd();  // merge into the existing directory
    } else {
      RETURN_IF_ERROR(sys::RemoveAllAt(parent.fd, base));
      node = MakeNode(e, parent.fd, base);
      if (!node.ok()) return node.status();
    }
  }
  RETURN_IF_ERROR(FinishNode(e, parent.fd, base, std::move(*node), reader));
  unpacked_.insert(UnpackedKey(parent.ino, base));
  if (e.type == EntryType::kDir) {
    DirTimes t{rel, {}};
    EntryTimes(e, t.times);
    dirs_.push_back(std::move(t));
  }
  return absl::OkStatus();
}

absl::StatusOr<Applier::Parent> Applier::ParentDir(const std::string& dir) {
  if (dir.empty()) {
    if (cached_fd_.valid() && cached_dir_.empty()) return Parent{cached_fd_.get(), cached_ino_};
    ASSIGN_OR_RETURN(cached_fd_, sys::OpenInRoot(root_fd_, "", O_RDONLY | O_DIRECTORY));
  } else if (cached_fd_.valid() && cached_dir_ == dir) {
    return Parent{cached_fd_.get(), cached_ino_};
  } else {
    cached_fd_.reset();
    absl::StatusOr<UniqueFd> fd = sys::OpenInRoot(root_fd_, dir, O_RDONLY | O_DIRECTORY);
    if (fd.ok()) {
      cached_fd_ = *std::move(fd);
    } else {
      // Missing, or not a directory: MakeParents tells which and creates what is missing.
      ASSIGN_OR_RETURN(cached_fd_, MakeParents(dir));
    }
  }
  cached_dir_ = dir;
  ASSIGN_OR_RETURN(struct stat st, sys::LstatAt(cached_fd_.get(), ""));
  cached_ino_ = st.st_ino;
  return Parent{cached_fd_.get(), cached_ino_};
}

// containerd's mkparent: creates the missing directories of `dir` (0755), resolving symlinks
// inside root. A dangling symlink on the way is followed to where it points and the directories
// are created there, as containerd's RootPath does. Creation only ever happens with mkdirat in a
// directory already opened inside root, under a plain name, so it cannot leave root.
absl::StatusOr<UniqueFd> Applier::MakeParents(std::string dir) {
  int links = 0;
  for (;;) {
    std::vector<std::string> comps = absl::StrSplit(dir, '/', absl::SkipEmpty());
    ASSIGN_OR_RETURN(UniqueFd cur, sys::OpenInRoot(root_fd_, "", O_RDONLY | O_DIRECTORY));
    std::string prefix;
    bool restarted = false;
    for (size_t i = 0; i < comps.size(); ++i) {
      const std::string& comp = comps[i];
      std::string next = prefix.empty() ? comp : absl::StrCat(prefix, "/", comp);
      absl::StatusOr<UniqueFd> fd = sys::OpenInRoot(root_fd_, next, O_RDONLY | O_DIRECTORY);
      if (fd.ok()) {
        cur = *std::move(fd);
        prefix = std::move(next);
        continue;
      }
      absl::StatusOr<struct stat> st = sys::LstatAt(cur.get(), comp);
      if (!st.ok() && !absl::IsNotFound(st.status())) return st.status();
      if (st.ok() && S_ISLNK(st->st_mode)) {
        // A symlink whose target (or some directory on its way) does not exist yet.
        if (++links > kMaxParentSymlinks) {
          return absl::InvalidArgumentError(
              absl::StrCat("too many levels of symbolic links creating parent ", Quoted(dir)));
        }
        ASSIGN_OR_RETURN(std::string target, sys::ReadlinkAt(cur.get(), comp));
        std::vector<std::string> rest(comps.begin() + static_cast<long>(i) + 1, comps.end());
        // No lexical cleaning: ".." in the target must be resolved by the kernel against where
        // `prefix` really is, not against its spelling.
        dir = absl::StrCat(absl::StartsWith(target, "/") ? "" : prefix, "/", target, "/",
                           absl::StrJoin(rest, "/"));
        restarted = true;
        break;
      }
      if (st.ok() || comp == "." || comp == "..") {
        // Exists but could not be opened as a directory.
        return absl::InvalidArgumentError(
            absl::StrCat("parent ", Quoted(next), " is not a directory: ", fd.status().message()));
      }
      if (!absl::IsNotFound(fd.status())) return fd.status();
      absl::Status made = sys::MkdirAt(cur.get(), comp, 0755);
      if (!made.ok() && !absl::IsAlreadyExists(made)) return made;
      ASSIGN_OR_RETURN(UniqueFd created, sys::OpenBeneath(cur.get(), comp, O_RDONLY | O_DIRECTORY));
      if (made.ok()) {
        RETURN_IF_ERROR(sys::FChmod(created.get(), 0755, comp));  // the umask applied to mkdir
        if (!parents_.empty()) RETURN_IF_ERROR(CopyParentAttrs(created.get()));
      }
      cur = std::move(created);
      prefix = std::move(next);
    }
    if (!restarted) return cur;
  }
}

// containerd's copyDirInfo + copyUpXAttrs from the first lower directory at the same place.
absl::Status Applier::CopyParentAttrs(int created_fd) {
  ASSIGN_OR_RETURN(std::string path, sys::FdPath(created_fd));
  if (!absl::StartsWith(path, absl::StrCat(root_path_, "/"))) {
    return absl::OkStatus();  // root is not reachable by path (another mount namespace?)
  }
  std::string rel = path.substr(root_path_.size());
  for (const UniqueFd& lower : parents_) {
    absl::StatusOr<UniqueFd> probe = sys::OpenInRoot(lower.get(), rel, O_PATH);
    if (!probe.ok()) {
      if (absl::IsNotFound(probe.status())) continue;
      return probe.status();
    }
    ASSIGN_OR_RETURN(struct stat st, sys::LstatAt(probe->get(), ""));
    if (!S_ISDIR(st.st_mode)) break;  // replaced in a lower layer: keep the defaults
    ASSIGN_OR_RETURN(UniqueFd src, sys::OpenInRoot(lower.get(), rel, O_RDONLY | O_DIRECTORY));
    RETURN_IF_ERROR(sys::FChown(created_fd, st.st_uid, st.st_gid, rel));
    RETURN_IF_ERROR(sys::FChmod(created_fd, st.st_mode & 07777, rel));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    RETURN_IF_ERROR(sys::FUtimens(created_fd, times, rel));
    ASSIGN_OR_RETURN(std::vector<std::string> keys, sys::FListXattr(src.get(), rel));
    for (const std::string& key : keys) {
      if (absl::StartsWith(key, "trusted.")) continue;
      ASSIGN_OR_RETURN(std::optional<std::string> value, sys::FGetXattr(src.get(), key, rel));
      if (value.has_value()) RETURN_IF_ERROR(sys::FSetXattr(created_fd, key, *value, rel));
    }
    return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::Status Applier::ApplyWhiteout(const TarEntry& e, const Parent& parent,
                                    const std::string& base) {
  ++whiteouts_;
  if (base == kWhiteoutOpaqueDir) {
    if (options_.whiteouts == WhiteoutMode::kOverlay) {
      return sys::FSetXattr(parent.fd, "trusted.overlay.opaque", "y", "opaque directory");
    }
    return RemoveLowerEntries(parent.fd, "opaque directory");
  }
  std::string target = base.substr(kWhiteoutPrefix.size());
  if (target.empty() || target == "." || target == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid whiteout name ", Quoted(base), ": invalid archive"));
  }
  RETURN_IF_ERROR(sys::RemoveAllAt(parent.fd, target));
  if (options_.whiteouts == WhiteoutMode::kDelete) return absl::OkStatus();
  // overlayfs reads a 0/0 character device in an upper layer as "deleted here".
  RETURN_IF_ERROR(sys::MknodAt(parent.fd, target, S_IFCHR, makedev(0, 0)));
  return sys::LchownAt(parent.fd, target, static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid));
}

absl::Status Applier::RemoveLowerEntries(int dirfd, const std::string& path_for_errors) {
  ASSIGN_OR_RETURN(struct stat dir, sys::LstatAt(dirfd, ""));
  ASSIGN_OR_RETURN(std::vector<std::string> names, sys::ReadDirNames(dirfd, path_for_errors));
  for (const std::string& name : names) {
    if (!unpacked_.contains(UnpackedKey(dir.st_ino, name))) {
      RETURN_IF_ERROR(sys::RemoveAllAt(dirfd, name));
      continue;
    }
    // Put in place by this layer; a directory may still hold lower entries below.
    ASSIGN_OR_RETURN(struct stat st, sys::LstatAt(dirfd, name));
    if (!S_ISDIR(st.st_mode)) continue;
    ASSIGN_OR_RETURN(UniqueFd sub, sys::OpenBeneath(dirfd, name, O_RDONLY | O_DIRECTORY));
    RETURN_IF_ERROR(RemoveLowerEntries(sub.get(), name));
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> Applier::MakeNode(const TarEntry& e, int dirfd, const std::string& base) {
  switch (e.type) {
    case EntryType::kFile:
      // O_EXCL: never open (let alone truncate) what is there, which may be a link.
      return sys::OpenBeneath(dirfd, base, O_WRONLY | O_CREAT | O_EXCL, 0600);
    case EntryType::kDir:
      RETURN_IF_ERROR(sys::MkdirAt(dirfd, base, 0700));
      return UniqueFd();
    case EntryType::kSymlink:
      RETURN_IF_ERROR(sys::SymlinkAt(e.linkname, dirfd, base));
      return UniqueFd();
    case EntryType::kHardlink: {
      std::string target = CleanLayerPath(e.linkname);
      if (target.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("hard link to the root (", Quoted(e.linkname), "): invalid archive"));
      }
      auto [tdir, tbase] = SplitDir(target);
      // The target's directory resolves inside root; the target itself is not followed, so a
      // hard link to a symlink links the symlink (as containerd's hardlinkRootPath).
      ASSIGN_OR_RETURN(UniqueFd tdirfd, sys::OpenInRoot(root_fd_, tdir, O_PATH | O_DIRECTORY));
      RETURN_IF_ERROR(sys::LinkAt(tdirfd.get(), tbase, dirfd, base));
      return UniqueFd();
    }
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo: {
      mode_t type = e.type == EntryType::kChar    ? S_IFCHR
                    : e.type == EntryType::kBlock ? S_IFBLK
                                                  : S_IFIFO;
      RETURN_IF_ERROR(
          sys::MknodAt(dirfd, base, type | (e.mode & 07777), makedev(e.devmajor, e.devminor)));
      return UniqueFd();
    }
  }
  return absl::InvalidArgumentError("unknown entry type");
}

absl::Status Applier::FinishNode(const TarEntry& e, int dirfd, const std::string& base, UniqueFd fd,
                                 TarReader& reader) {
  switch (e.type) {
    case EntryType::kFile: {
      RETURN_IF_ERROR(WriteData(fd.get(), e, reader));
      RETURN_IF_ERROR(
          sys::FChown(fd.get(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid), base));
      RETURN_IF_ERROR(SetXattrs(e, fd.get(), dirfd, base));
      RETURN_IF_ERROR(sys::FChmod(fd.get(), e.mode, base));  // after chown, which clears setuid
      struct timespec times[2];
      EntryTimes(e, times);
      return sys::FUtimens(fd.get(), times, base);
    }
    case EntryType::kDir: {
      ASSIGN_OR_RETURN(UniqueFd dir, sys::OpenBeneath(dirfd, base, O_RDONLY | O_DIRECTORY));
      RETURN_IF_ERROR(
          sys::FChown(dir.get(), static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid), base));
      RETURN_IF_ERROR(SetXattrs(e, dir.get(), dirfd, base));
      return sys::FChmod(dir.get(), e.mode, base);  // times: in Finish
    }
    case EntryType::kSymlink:
      return SetMetadataAt(e, dirfd, base, /*is_link=*/true);
    case EntryType::kHardlink: {
      ASSIGN_OR_RETURN(struct stat st, sys::LstatAt(dirfd, base));
      return SetMetadataAt(e, dirfd, base, S_ISLNK(st.st_mode));
    }
    case EntryType::kChar:
    case EntryType::kBlock:
    case EntryType::kFifo:
      return SetMetadataAt(e, dirfd, base, /*is_link=*/false);
  }
  return absl::InvalidArgumentError("unknown entry type");
}

absl::Status Applier::WriteData(int fd, const TarEntry& e, TarReader& reader) {
  // Data comes in blocks as libarchive decoded them (up to 1 MiB for an uncompressed layer, often
  // 64 KiB through a decompressor). Small blocks are gathered so that a file costs few writes;
  // an offset jump (a hole in a sparse file) flushes and starts a new run.
  if (buf_ == nullptr) buf_ = std::make_unique<char[]>(kWriteBufferSize);
  int64_t run_start = 0;
  size_t buffered = 0;
  int64_t end = 0;
  auto flush = [&]() -> absl::Status {
    if (buffered == 0) return absl::OkStatus();
    RETURN_IF_ERROR(sys::PWriteAll(fd, absl::string_view(buf_.get(), buffered), run_start, e.name));
    run_start += static_cast<int64_t>(buffered);
    buffered = 0;
    return absl::OkStatus();
  };
  for (;;) {
    ASSIGN_OR_RETURN(TarReader::Block block, reader.ReadBlock());
    if (block.data.empty()) break;
    if (block.offset != run_start + static_cast<int64_t>(buffered)) {
      RETURN_IF_ERROR(flush());
      run_start = block.offset;
    }
    end = std::max(end, block.offset + static_cast<int64_t>(block.data.size()));
    // Big blocks, and a block holding all that is left of the file (most files fit in one),
    // go out as they are, without a copy.
    if (buffered == 0 && (block.data.size() >= kWriteBufferSize / 2 || end >= e.size)) {
      RETURN_IF_ERROR(sys::PWriteAll(fd, block.data, block.offset, e.name));
      run_start = end;
      continue;
    }
    absl::string_view rest = block.data;
    while (!rest.empty()) {
      size_t n = std::min(rest.size(), kWriteBufferSize - buffered);
      std::memcpy(buf_.get() + buffered, rest.data(), n);
      buffered += n;
      rest.remove_prefix(n);
      if (buffered == kWriteBufferSize) RETURN_IF_ERROR(flush());
    }
  }
  RETURN_IF_ERROR(flush());
  // A sparse file may end in a hole.
  if (e.size > end) RETURN_IF_ERROR(sys::FTruncate(fd, e.size, e.name));
  return absl::OkStatus();
}

absl::Status Applier::SetXattrs(const TarEntry& e, int fd, int dirfd, const std::string& base) {
  for (const auto& [key, value] : e.xattrs) {
    if (absl::StartsWith(key, "trusted.")) {
      log::Warn("ignored trusted xattr in layer", {{"name", e.name}, {"xattr", key}});
      continue;
    }
    absl::Status st =
        fd >= 0 ? sys::FSetXattr(fd, key, value, base) : sys::LSetXattrAt(dirfd, base, key, value);
    if (st.ok()) continue;
    bool ignore = st.code() == absl::StatusCode::kUnimplemented;  // ENOTSUP
    // In the user.* namespace only regular files and directories can have xattrs.
    if (st.code() == absl::StatusCode::kPermissionDenied && absl::StartsWith(key, "user.") &&
        e.type != EntryType::kFile && e.type != EntryType::kDir) {
      ignore = true;
    }
    if (!ignore) return st;
    log::Warn("ignored xattr in layer",
              {{"name", e.name}, {"xattr", key}, {"error", st.ToString()}});
  }
  return absl::OkStatus();
}

absl::Status Applier::SetMetadataAt(const TarEntry& e, int dirfd, const std::string& base,
                                    bool is_link) {
  RETURN_IF_ERROR(sys::LchownAt(dirfd, base, static_cast<uid_t>(e.uid), static_cast<gid_t>(e.gid)));
  RETURN_IF_ERROR(SetXattrs(e, /*fd=*/-1, dirfd, base));
  if (!is_link) RETURN_IF_ERROR(sys::ChmodAtNoFollow(dirfd, base, e.mode));
  struct timespec times[2];
  EntryTimes(e, times);
  return sys::LutimesAt(dirfd, base, times);
}

absl::Status Applier::Finish() {
  for (const DirTimes& d : dirs_) {
    auto [dir, base] = SplitDir(d.rel);
    absl::StatusOr<UniqueFd> parent = sys::OpenInRoot(root_fd_, dir, O_PATH | O_DIRECTORY);
    absl::Status st = parent.ok() ? sys::LutimesAt(parent->get(), base, d.times) : parent.status();
    // Deleted again by a later whiteout of the same layer: nothing to date.
    if (!st.ok() && !absl::IsNotFound(st))
      return Annotate(st, absl::StrCat("layer entry ", Quoted(d.rel)));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CleanLayerPath(absl::string_view name) {
  std::vector<absl::string_view> out;
  for (absl::string_view comp : absl::StrSplit(name, '/', absl::SkipEmpty())) {
    if (comp == ".") continue;
    if (comp == "..") {
      if (!out.empty()) out.pop_back();  // ".." at the root stays at the root
      continue;
    }
    out.push_back(comp);
  }
  return absl::StrJoin(out, "/");
}

absl::StatusOr<ApplyResult> ApplyLayer(int input_fd, const std::string& root,
                                       const ApplyOptions& options) {
  ASSIGN_OR_RETURN(UniqueFd root_fd, sys::Open(root, O_RDONLY | O_DIRECTORY));
  std::vector<UniqueFd> parents;
  std::string root_path;
  if (!options.parents.empty()) {
    for (const std::string& p : options.parents) {
      ASSIGN_OR_RETURN(UniqueFd fd, sys::Open(p, O_RDONLY | O_DIRECTORY));
      parents.push_back(std::move(fd));
    }
    ASSIGN_OR_RETURN(root_path, sys::FdPath(root_fd.get()));
    if (root_path == "/") root_path.clear();
  }
  ASSIGN_OR_RETURN(std::unique_ptr<TarReader> reader, TarReader::Open(input_fd));
  Applier applier(root_fd.get(), options, std::move(parents), std::move(root_path));
  for (;;) {
    ASSIGN_OR_RETURN(std::optional<TarEntry> entry, reader->Next());
    if (!entry.has_value()) break;
    absl::Status applied = applier.Apply(*entry, *reader);
    if (!applied.ok()) return Annotate(applied, absl::StrCat("layer entry ", Quoted(entry->name)));
  }
  RETURN_IF_ERROR(applier.Finish());
  ASSIGN_OR_RETURN(TarReader::Summary summary, reader->Finish());
  return ApplyResult{summary.uncompressed_digest, summary.uncompressed_size, reader->compression(),
                     applier.entries(), applier.whiteouts()};
}

}  // namespace berth::archive
