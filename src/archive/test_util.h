// Test helpers for the archive tests: temporary directories, a tar builder that writes headers by
// hand (independent of libarchive, so it can also write what libarchive's writer refuses: bad
// checksums, lying sizes, hostile names), compression through libarchive's filters, feeding a
// layer through a pipe, and snapshots of directory trees for before/after comparisons.
// Thread-safety: test-only; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "archive/apply.h"
#include "archive/tar_entry.h"
#include "sys/unique_fd.h"

namespace berth::archive::testing {

// mkdtemp under /tmp; removed recursively (unmounting nothing) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name, created as a directory if `mkdir`.
  std::string Sub(const std::string& name, bool mkdir = false) const;

 private:
  std::string path_;
};

// One hand-made tar entry: a ustar header (magic "ustar\0", version "00", as Go writes), preceded
// by a pax extended header when the name or link name is longer than 100 bytes or `pax` records
// are given.
struct RawEntry {
  std::string name;
  char typeflag = '0';
  uint32_t mode = 0644;
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 1700000000;
  std::string linkname;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::string data;
  std::optional<int64_t> declared_size;  // size field if not data.size() (lying headers)
  std::vector<std::pair<std::string, std::string>> pax;
  bool corrupt_checksum = false;

  RawEntry& Mode(uint32_t m) {
    mode = m;
    return *this;
  }
  RawEntry& Owner(int64_t u, int64_t g) {
    uid = u;
    gid = g;
    return *this;
  }
  RawEntry& Mtime(int64_t t) {
    mtime = t;
    return *this;
  }
  RawEntry& Pax(std::string key, std::string value) {
    pax.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  RawEntry& Xattr(const std::string& key, std::string value) {
    return Pax("SCHILY.xattr." + key, std::move(value));
  }
};

RawEntry File(std::string name, std::string data = "");
RawEntry Dir(std::string name);
RawEntry Symlink(std::string name, std::string target);
RawEntry Hardlink(std::string name, std::string target);
RawEntry CharDev(std::string name, uint32_t major, uint32_t minor);
RawEntry BlockDev(std::string name, uint32_t major, uint32_t minor);
RawEntry Fifo(std::string name);

class TarBuilder {
 public:
  TarBuilder& Add(const RawEntry& e);
  // Appended verbatim.
  TarBuilder& Raw(std::string bytes);
  // The archive, ended by two zero blocks unless !end_blocks.
  std::string Build(bool end_blocks = true) const;

 private:
  std::string out_;
};

// `data` compressed with libarchive's filter (a single stream).
std::string Compress(const std::string& data, Compression c);

// A memfd holding `data`, offset 0.
sys::UniqueFd MemFd(const std::string& data);
std::string ReadAllFd(int fd);

// ApplyLayer over `data`: through a pipe fed by a thread (a stream the reader cannot seek), or a
// memfd.
absl::StatusOr<ApplyResult> ApplyBytes(const std::string& data, const std::string& root,
                                       const ApplyOptions& options = {}, bool via_pipe = true);

std::string Sha256Digest(const std::string& data);  // "sha256:<hex>"

// Everything observable about each path under `dir` ("" is dir itself) without following
// symlinks: type, mode, owner, size, content (hashed), symlink target, device, link count, mtime
// (atime and ctime excluded) and the user.*, trusted.* and security.capability xattrs.
// Paths under any of `skip` (relative) are left out.
std::map<std::string, std::string> Snapshot(const std::string& dir,
                                            const std::vector<std::string>& skip = {},
                                            bool with_root = true);

// Whether `dir`'s file system takes user.* xattrs.
bool SupportsUserXattrs(const std::string& dir);

std::string ReadFileOrDie(const std::string& path);
void WriteFileOrDie(const std::string& path, const std::string& data, mode_t mode = 0644);

}  // namespace berth::archive::testing
