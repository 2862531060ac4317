#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace berth {

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

absl::Status ErrnoError(int err, absl::string_view context) {
  absl::StatusCode code;
  switch (err) {
    case ENOENT:
    case ESRCH:
      code = absl::StatusCode::kNotFound;
      break;
    case EEXIST:
      code = absl::StatusCode::kAlreadyExists;
      break;
    case EINVAL:
    case ENAMETOOLONG:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case EACCES:
    case EPERM:
      code = absl::StatusCode::kPermissionDenied;
      break;
    case EAGAIN:
    case EBUSY:
      code = absl::StatusCode::kUnavailable;
      break;
    case ENOSPC:
    case EDQUOT:
    case ENOMEM:
      code = absl::StatusCode::kResourceExhausted;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = absl::StatusCode::kUnimplemented;
      break;
    default:
      code = absl::StatusCode::kInternal;
  }
  return absl::Status(code, absl::StrCat(context, ": ", std::strerror(err)));
}

absl::Status ErrNotFound(absl::string_view what) {
  return absl::NotFoundError(absl::StrCat(what, ": not found"));
}
absl::Status ErrAlreadyExists(absl::string_view what) {
  return absl::AlreadyExistsError(absl::StrCat(what, ": already exists"));
}
absl::Status ErrInvalidArgument(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": invalid argument"));
}
absl::Status ErrFailedPrecondition(absl::string_view what) {
  return absl::FailedPreconditionError(absl::StrCat(what, ": failed precondition"));
}
absl::Status ErrUnavailable(absl::string_view what) {
  return absl::UnavailableError(absl::StrCat(what, ": unavailable"));
}
absl::Status ErrNotImplemented(absl::string_view what) {
  return absl::UnimplementedError(absl::StrCat(what, ": not implemented"));
}

}  // namespace berth
