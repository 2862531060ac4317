#include "archive/diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <memory>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "archive/changes.h"
#include "archive/tar_writer.h"
#include "base/status.h"
#include "sys/at.h"
#include "sys/file.h"

namespace berth::archive {
namespace {

using sys::UniqueFd;

constexpr size_t kCopyChunk = 1 << 20;

std::pair<std::string, std::string> SplitDir(const std::string& rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

// containerd's ChangeWriter: turns the changes into tar entries.
class ChangeWriter {
 public:
  ChangeWriter(TarWriter& tw, int upper_fd) : tw_(tw), upper_fd_(upper_fd) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    whiteout_time_ = {now.tv_sec, 0};
  }

  absl::Status Handle(const Change& c) {
    if (c.kind == ChangeKind::kDelete) return WriteWhiteout(c.path.substr(1));
    return Annotate(WriteEntry(c.kind, c.path.substr(1), *c.st, c.upper_dirfd, c.name), c.path);
  }

 private:
  struct InodeKey {
    dev_t dev;
    ino_t ino;
    bool operator==(const InodeKey&) const = default;
  };
  struct InodeHash {
    size_t operator()(const InodeKey& k) const {
      return std::hash<uint64_t>()(static_cast<uint64_t>(k.ino) * 31 + k.dev);
    }
  };

  absl::Status WriteWhiteout(const std::string& rel) {
    auto [dir, base] = SplitDir(rel);
    TarEntry e;
    e.name = absl::StrCat(dir.empty() ? "" : dir + "/", kWhiteoutPrefix, base);
    e.type = EntryType::kFile;
    e.mtime = whiteout_time_;
    RETURN_IF_ERROR(IncludeParents(e.name, /*is_dir=*/false));
    return tw_.WriteHeader(e);
  }

  // `rel` has no leading slash.
  absl::Status WriteEntry(ChangeKind kind, const std::string& rel, const struct stat& st, int dirfd,
                          const std::string& name) {
    if (S_ISSOCK(st.st_mode)) return absl::OkStatus();
    TarEntry e;
    e.name = S_ISDIR(st.st_mode) ? rel + "/" : rel;
    e.mode = st.st_mode & 07777;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    // Truncated, as containerd does, so that headers need no pax records for sub-second times.
    e.mtime = {st.st_mtim.tv_sec, 0};
    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        e.type = EntryType::kFile;
        e.size = st.st_size;
        break;
      case S_IFDIR:
        e.type = EntryType::kDir;
        break;
      case S_IFLNK: {
        e.type = EntryType::kSymlink;
        ASSIGN_OR_RETURN(e.linkname, sys::ReadlinkAt(dirfd, name));
        break;
      }
      case S_IFCHR:
      case S_IFBLK:
        e.type = S_ISCHR(st.st_mode) ? EntryType::kChar : EntryType::kBlock;
        e.devmajor = major(st.st_rdev);
        e.devminor = minor(st.st_rdev);
        break;
      case S_IFIFO:
        e.type = EntryType::kFifo;
        break;
      default:
        return absl::InvalidArgumentError("unsupported file type");
    }

    std::vector<std::string> additional_links;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      InodeKey key{st.st_dev, st.st_ino};
      if (auto src = inode_src_.find(key); src != inode_src_.end()) {
        e.type = EntryType::kHardlink;
        e.linkname = src->second;
        e.size = 0;
      } else {
        if (kind == ChangeKind::kUnmodified) {
          // Written only if a changed name of the same inode comes later.
          inode_refs_[key].push_back(e.name);
          return absl::OkStatus();
        }
        inode_src_.emplace(key, e.name);
        if (auto refs = inode_refs_.find(key); refs != inode_refs_.end()) {
          additional_links = std::move(refs->second);
          inode_refs_.erase(refs);
        }
      }
    } else if (kind == ChangeKind::kUnmodified) {
      return absl::OkStatus();
    }

    ASSIGN_OR_RETURN(std::optional<std::string> capability,
                     sys::LGetXattrAt(dirfd, name, "security.capability"));
    if (capability.has_value() && !capability->empty()) {
      e.xattrs.emplace_back("security.capability", *capability);
    }

    RETURN_IF_ERROR(IncludeParents(e.name, e.type == EntryType::kDir));
    RETURN_IF_ERROR(tw_.WriteHeader(e));
    if (e.type == EntryType::kFile && e.size > 0) RETURN_IF_ERROR(CopyData(dirfd, name, e.size));

    for (const std::string& extra : additional_links) {
      TarEntry link = e;
      link.name = extra;
      link.type = EntryType::kHardlink;
      link.linkname = e.name;
      link.size = 0;
      RETURN_IF_ERROR(IncludeParents(link.name, false));
      RETURN_IF_ERROR(tw_.WriteHeader(link));
    }
    return absl::OkStatus();
  }

  absl::Status CopyData(int dirfd, const std::string& name, int64_t size) {
    ASSIGN_OR_RETURN(UniqueFd fd, sys::OpenBeneath(dirfd, name, O_RDONLY));
    if (buf_ == nullptr) buf_ = std::make_unique<char[]>(kCopyChunk);
    int64_t offset = 0;
    while (offset < size) {
      size_t want = static_cast<size_t>(std::min<int64_t>(size - offset, kCopyChunk));
      ASSIGN_OR_RETURN(size_t n, sys::PReadFull(fd.get(), buf_.get(), want, offset, name));
      if (n == 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("file shrank while it was being written to the layer: ", name));
      }
      RETURN_IF_ERROR(tw_.WriteData(absl::string_view(buf_.get(), n)));
      offset += static_cast<int64_t>(n);
    }
    return absl::OkStatus();
  }

  // Writes the parent directory of `name` first if it has not been written yet (it may be
  // unchanged itself; its metadata still belongs in the layer so that applying keeps it).
  absl::Status IncludeParents(const std::string& name, bool is_dir) {
    std::string trimmed = name;
    while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
    auto [parent, base] = SplitDir(trimmed);
    if (!parent.empty() && !added_dirs_.contains(parent)) {
      added_dirs_.insert(parent);
      auto [pdir, pbase] = SplitDir(parent);
      ASSIGN_OR_RETURN(UniqueFd pdirfd, sys::OpenInRoot(upper_fd_, pdir, O_RDONLY | O_DIRECTORY));
      ASSIGN_OR_RETURN(struct stat st, sys::LstatAt(pdirfd.get(), pbase));
      RETURN_IF_ERROR(
          Annotate(WriteEntry(ChangeKind::kModify, parent, st, pdirfd.get(), pbase), parent));
    }
    if (is_dir) added_dirs_.insert(trimmed);
    return absl::OkStatus();
  }

  TarWriter& tw_;
  const int upper_fd_;
  struct timespec whiteout_time_;
  std::unordered_map<InodeKey, std::string, InodeHash> inode_src_;
  std::unordered_map<InodeKey, std::vector<std::string>, InodeHash> inode_refs_;
  std::unordered_set<std::string> added_dirs_;
  std::unique_ptr<char[]> buf_;
};

}  // namespace

absl::StatusOr<DiffResult> WriteDiff(const std::string& lower, const std::string& upper,
                                     int output_fd, Compression compression) {
  UniqueFd lower_fd;
  if (!lower.empty()) {
    ASSIGN_OR_RETURN(lower_fd, sys::Open(lower, O_RDONLY | O_DIRECTORY));
  }
  ASSIGN_OR_RETURN(UniqueFd upper_fd, sys::Open(upper, O_RDONLY | O_DIRECTORY));
  ASSIGN_OR_RETURN(std::unique_ptr<TarWriter> tw, TarWriter::Open(output_fd, compression));
  ChangeWriter cw(*tw, upper_fd.get());
  RETURN_IF_ERROR(Annotate(Changes(lower_fd.valid() ? lower_fd.get() : -1, upper_fd.get(),
                                   [&](const Change& c) { return cw.Handle(c); }),
                           "failed to create diff tar stream"));
  ASSIGN_OR_RETURN(TarWriter::Summary s, tw->Close());
  return DiffResult{s.digest, s.size, s.uncompressed_digest, s.uncompressed_size};
}

}  // namespace berth::archive
