// Applying a layer to, and computing a layer from, file systems given as mounts (what a
// snapshotter hands out), as containerd's diff plugins do:
//
// - An overlay mount with an upperdir is applied straight into the upperdir, with whiteouts in
//   overlayfs form and the lowerdirs as parents (no mount needed: containerd's fast path).
// - A single read-write bind mount is applied straight into its source directory.
// - Anything else is mounted on a temporary directory under `scratch` first and unmounted after.
//
// Thread-safety: pure functions over the file system; concurrent calls use distinct temporary
// mount points.
#pragma once

#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "archive/apply.h"
#include "archive/diff.h"
#include "sys/mount.h"

namespace berth::archive {

// Applies the layer stream read from `input_fd` to the file system `mounts` describe.
// Errors as ApplyLayer and MountAll.
absl::StatusOr<ApplyResult> ApplyLayerToMounts(int input_fd, std::span<const sys::Mount> mounts,
                                               const std::string& scratch);

// Writes the layer that turns `lower` into `upper` (each mounted read-only on a temporary
// directory under `scratch`; `lower` may be empty for a base layer) to `output_fd`.
absl::StatusOr<DiffResult> WriteDiffOfMounts(std::span<const sys::Mount> lower,
                                             std::span<const sys::Mount> upper, int output_fd,
                                             Compression compression, const std::string& scratch);

}  // namespace berth::archive
