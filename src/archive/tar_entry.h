// The vocabulary shared by the layer reader, the layer writer and the appliers: one tar entry's
// header as OCI layers use it, stream compressions, and the whiteout names of the OCI image spec
// (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts).
// Thread-safety: plain values.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace berth::archive {

// Whiteout names. ".wh.<name>" deletes <name> from the lower layers; ".wh..wh..opq" makes its
// directory opaque (hides everything the lower layers had there).
inline constexpr absl::string_view kWhiteoutPrefix = ".wh.";
inline constexpr absl::string_view kWhiteoutOpaqueDir = ".wh..wh..opq";

enum class Compression { kNone, kGzip, kZstd, kXz, kBzip2 };
absl::string_view CompressionName(Compression c);

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kChar, kBlock, kFifo };

struct TarEntry {
  std::string name;  // as stored (raw bytes); directories may end in '/'
  EntryType type = EntryType::kFile;
  mode_t mode = 0;  // permission bits with setuid/setgid/sticky (07777)
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t size = 0;  // data bytes that follow (regular files)
  struct timespec mtime = {};
  std::optional<struct timespec> atime;
  std::string linkname;  // symlink target, or hard link target (a name in the same archive)
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  // Extended attributes (pax SCHILY.xattr.<key>), in archive order.
  std::vector<std::pair<std::string, std::string>> xattrs;
};

}  // namespace berth::archive
