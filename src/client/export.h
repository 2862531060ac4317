// Exporting images through the daemon's API as an OCI image layout tar, as `ctr images export`
// does (containerd's Client.Export with archive.WithImage per name): each name is looked up with
// Images/Get, and its target and every blob it references are read from the daemon's content
// store (RemoteContentStore, Content/Read) and written to `fd`. See images/archive_export.h for
// the layout (index.json with names, blobs, Docker's manifest.json).
//
// Platforms, as ctr: the given `platforms` in order of preference (platforms.Ordered), else the
// host's platform only (DefaultStrict); with `all_platforms` every manifest of an index is
// exported (and must be present).
//
// Errors: NotFound "image \"<name>\": not found" (before anything is written), the archive
// writer's errors (see ExportArchive), the daemon's, unchanged. After an error the output is
// incomplete.
// Thread-safety: as Client.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/client.h"
#include "images/types.h"

namespace berth::client {

struct ExportOptions {
  std::vector<images::Platform> platforms;  // ctr --platform (repeatable)
  bool all_platforms = false;               // ctr --all-platforms
  bool skip_manifest_json = false;          // ctr --skip-manifest-json
  bool skip_non_distributable = false;      // ctr --skip-non-distributable
};

// Writes the archive of the images `names` (at least one) to `fd` (not closed).
absl::Status ExportImages(Client& client, const std::vector<std::string>& names, int fd,
                          const ExportOptions& options = {});

}  // namespace berth::client
