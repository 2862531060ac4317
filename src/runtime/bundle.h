// A task's bundle: the directory the shim runs in, laid out as containerd's v2 runtime does.
//
//   <state>/io.containerd.runtime.v2.task/<ns>/<id>/   the bundle (tmpfs in production)
//       config.json         the OCI spec (the container's spec Any value, verbatim)
//       rootfs/             the shim mounts the task's rootfs here
//       work -> <root>/io.containerd.runtime.v2.task/<ns>/<id>   persistent scratch for the shim
//       address             written by the shim: its ttrpc socket ("unix:///...")
//       shim-binary-path    which shim binary started it (for `delete` after a crash)
//       log                 FIFO the shim writes its log to (berthd reads it)
//
// Thread-safety: a value type; the file-system operations are not synchronised (one task's
// bundle is only touched by the one call creating or deleting it).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::runtime {

struct Bundle {
  std::string ns;
  std::string id;
  std::string path;  // the bundle directory
  std::string work;  // the work directory

  // Creates the bundle and work directories and writes config.json. InvalidArgument for an id
  // that is not an identifier; AlreadyExists if the bundle exists.
  static absl::StatusOr<Bundle> Create(const std::string& root, const std::string& state,
                                       absl::string_view ns, absl::string_view id,
                                       absl::string_view spec);
  // The bundle of an existing task (no file-system access).
  static Bundle At(const std::string& root, const std::string& state, absl::string_view ns,
                   absl::string_view id);

  std::string File(absl::string_view name) const;
  // Unmounts whatever is left on rootfs/ and removes the bundle and the work directory.
  // Missing directories are fine.
  absl::Status Delete() const;
};

}  // namespace berth::runtime
