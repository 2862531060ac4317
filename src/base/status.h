// Status helpers: the one error convention of berth (absl::Status, whose codes are gRPC's).
//
// Errors a client can cause carry containerd's class suffix in their message ("...: not found"),
// built by the Err* constructors below, so that messages read like containerd's at the API edge.
// Thread-safe: everything here is a pure function.
#pragma once

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace berth {

// Evaluates `expr` (an absl::Status); returns it from the enclosing function if not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status berth_status_ = (expr);     \
    if (!berth_status_.ok()) return berth_status_; \
  } while (0)

#define BERTH_CONCAT_INNER_(a, b) a##b
#define BERTH_CONCAT_(a, b) BERTH_CONCAT_INNER_(a, b)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on error returns its
// status, otherwise moves the value into `lhs` (which may be a declaration: `auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  BERTH_ASSIGN_OR_RETURN_IMPL_(BERTH_CONCAT_(berth_statusor_, __LINE__), lhs, expr)
#define BERTH_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

// Returns `status` with "context: " prepended to its message; keeps the code. OK stays OK.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// An error for a failed system call: maps errno to the nearest code (ENOENT -> NotFound,
// EEXIST -> AlreadyExists, EINVAL -> InvalidArgument, EACCES/EPERM -> PermissionDenied, ...) and
// renders "context: strerror".
absl::Status ErrnoError(int err, absl::string_view context);

// containerd's error classes. The message is the caller's, followed by the class as containerd
// prints it, e.g. ErrNotFound("container \"x\"") -> "container \"x\": not found".
absl::Status ErrNotFound(absl::string_view what);
absl::Status ErrAlreadyExists(absl::string_view what);
absl::Status ErrInvalidArgument(absl::string_view what);
absl::Status ErrFailedPrecondition(absl::string_view what);
absl::Status ErrUnavailable(absl::string_view what);
absl::Status ErrNotImplemented(absl::string_view what);

}  // namespace berth
