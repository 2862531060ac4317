#include "runtime/bundle.h"

#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "base/identifiers.h"
#include "base/status.h"
#include "sys/file.h"
#include "sys/fs.h"
#include "sys/mount.h"

namespace berth::runtime {

absl::StatusOr<Bundle> Bundle::Create(const std::string& root, const std::string& state,
                                      absl::string_view ns, absl::string_view id,
                                      absl::string_view spec) {
  if (absl::Status s = ValidateIdentifier(id); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid task id ", id, ": ", s.message()));
  }
  Bundle b = At(root, state, ns, id);
  RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(b.path), 0711));
  RETURN_IF_ERROR(sys::Mkdir(b.path, 0700));
  // From here on, a failure removes what was made.
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(sys::Mkdir(b.File("rootfs"), 0711));
    RETURN_IF_ERROR(sys::MakeDirs(sys::Dirname(b.work), 0711));
    if (absl::Status s = sys::Mkdir(b.work, 0711); !s.ok()) {
      if (!absl::IsAlreadyExists(s)) return s;
      // Left by a task of the same id that did not clean up: start afresh.
      RETURN_IF_ERROR(sys::RemoveAll(b.work));
      RETURN_IF_ERROR(sys::Mkdir(b.work, 0711));
    }
    if (::symlink(b.work.c_str(), b.File("work").c_str()) != 0) {
      return ErrnoError(errno, absl::StrCat("symlink ", b.File("work")));
    }
    return sys::WriteFile(b.File("config.json"), spec, 0666);
  }();
  if (!status.ok()) {
    (void)sys::RemoveAll(b.path);
    (void)sys::RemoveAll(b.work);
    return status;
  }
  return b;
}

Bundle Bundle::At(const std::string& root, const std::string& state, absl::string_view ns,
                  absl::string_view id) {
  return Bundle{.ns = std::string(ns),
                .id = std::string(id),
                .path = absl::StrCat(state, "/", ns, "/", id),
                .work = absl::StrCat(root, "/", ns, "/", id)};
}

std::string Bundle::File(absl::string_view name) const { return absl::StrCat(path, "/", name); }

absl::Status Bundle::Delete() const {
  const std::string rootfs = File("rootfs");
  if (absl::Status s = sys::UnmountAll(rootfs, 0); !s.ok() && !absl::IsNotFound(s)) {
    return Annotate(s, absl::StrCat("unmount rootfs ", rootfs));
  }
  absl::Status first = sys::RemoveAll(path);
  absl::Status work_removed = sys::RemoveAll(work);
  if (!first.ok()) return Annotate(first, "remove bundle");
  return Annotate(work_removed, "remove work directory");
}

}  // namespace berth::runtime
