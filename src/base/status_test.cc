#include "base/status.h"

#include <cerrno>
#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace berth {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(StatusTest, AnnotateKeepsCodeAndPrependsContext) {
  absl::Status s = Annotate(absl::NotFoundError("content sha256:abc"), "read blob");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "read blob: content sha256:abc");

  s = Annotate(Annotate(ErrAlreadyExists("image \"x\""), "create"), "import");
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Message(s), "import: create: image \"x\": already exists");
}

TEST(StatusTest, AnnotateLeavesOkAlone) {
  absl::Status s = Annotate(absl::OkStatus(), "context");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(Message(s), "");
}

TEST(StatusTest, ErrnoErrorMapsCodes) {
  struct Case {
    int err;
    absl::StatusCode code;
  };
  for (const Case& c :
       {Case{ENOENT, absl::StatusCode::kNotFound}, Case{EEXIST, absl::StatusCode::kAlreadyExists},
        Case{EINVAL, absl::StatusCode::kInvalidArgument},
        Case{EACCES, absl::StatusCode::kPermissionDenied},
        Case{EPERM, absl::StatusCode::kPermissionDenied},
        Case{ENOSPC, absl::StatusCode::kResourceExhausted},
        Case{ENOSYS, absl::StatusCode::kUnimplemented}, Case{EIO, absl::StatusCode::kInternal}}) {
    EXPECT_EQ(ErrnoError(c.err, "x").code(), c.code) << c.err;
  }
}

TEST(StatusTest, ErrnoErrorRendersContextAndStrerror) {
  absl::Status s = ErrnoError(ENOENT, "open /run/berth/x");
  EXPECT_EQ(Message(s), "open /run/berth/x: No such file or directory");
  EXPECT_EQ(Message(ErrnoError(EEXIST, "mkdir /a")), "mkdir /a: File exists");
}

TEST(StatusTest, ErrorClassesCarryContainerdSuffixes) {
  struct Case {
    absl::Status status;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {ErrNotFound("container \"x\""), absl::StatusCode::kNotFound, "container \"x\": not found"},
      {ErrAlreadyExists("lease \"l\""), absl::StatusCode::kAlreadyExists,
       "lease \"l\": already exists"},
      {ErrInvalidArgument("bad"), absl::StatusCode::kInvalidArgument, "bad: invalid argument"},
      {ErrFailedPrecondition("busy"), absl::StatusCode::kFailedPrecondition,
       "busy: failed precondition"},
      {ErrUnavailable("shim"), absl::StatusCode::kUnavailable, "shim: unavailable"},
      {ErrNotImplemented("checkpoint"), absl::StatusCode::kUnimplemented,
       "checkpoint: not implemented"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.message;
    EXPECT_EQ(Message(c.status), c.message);
  }
}

// RETURN_IF_ERROR / ASSIGN_OR_RETURN: the code after an error must not run.
absl::Status Step(bool fail, int* ran) {
  if (fail) return ErrNotFound("step");
  ++*ran;
  return absl::OkStatus();
}

absl::Status TwoSteps(bool fail_first, int* ran) {
  RETURN_IF_ERROR(Step(fail_first, ran));
  RETURN_IF_ERROR(Step(false, ran));
  return absl::OkStatus();
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstError) {
  int ran = 0;
  EXPECT_TRUE(TwoSteps(false, &ran).ok());
  EXPECT_EQ(ran, 2);

  ran = 0;
  absl::Status s = TwoSteps(true, &ran);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Message(s), "step: not found");
  EXPECT_EQ(ran, 0);
}

absl::StatusOr<std::unique_ptr<int>> MakeInt(int v) {
  if (v < 0) return ErrInvalidArgument("negative");
  return std::make_unique<int>(v);
}

// Declares, then assigns to an existing variable; move-only values pass through.
absl::StatusOr<int> Sum(int a, int b, int* reached) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> x, MakeInt(a));
  ++*reached;
  std::unique_ptr<int> y;
  ASSIGN_OR_RETURN(y, MakeInt(b));
  ++*reached;
  return *x + *y;
}

TEST(StatusTest, AssignOrReturnAssignsOrPropagates) {
  int reached = 0;
  absl::StatusOr<int> r = Sum(2, 3, &reached);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, 5);
  EXPECT_EQ(reached, 2);

  reached = 0;
  r = Sum(2, -1, &reached);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(r.status()), "negative: invalid argument");
  EXPECT_EQ(reached, 1);

  reached = 0;
  r = Sum(-1, 3, &reached);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(reached, 0);
}

}  // namespace
}  // namespace berth
