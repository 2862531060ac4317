#include "base/identifiers.h"

#include <string>

#include "gtest/gtest.h"

namespace berth {
namespace {

TEST(IdentifiersTest, AcceptsContainerdIdentifiers) {
  for (const std::string& id :
       {std::string("a"), std::string("0"), std::string("a.b-c_d"), std::string("Foo9"),
        std::string("k8s.io"), std::string("moby"), std::string(kMaxIdentifierLength, 'x')}) {
    EXPECT_TRUE(ValidateIdentifier(id).ok()) << id << ": " << ValidateIdentifier(id);
  }
}

TEST(IdentifiersTest, RejectsWhatContainerdRejects) {
  for (const std::string& id :
       {std::string("-a"), std::string("a-"), std::string("a..b"), std::string("a/b"),
        std::string("A b"), std::string("a_-b"), std::string(".a"), std::string("a:b"),
        std::string("\xc3\xa9"), std::string("a\nb")}) {
    absl::Status s = ValidateIdentifier(id);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << id;
    EXPECT_EQ(std::string(s.message()),
              "identifier \"" + id +
                  "\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$: invalid argument")
        << id;
  }
}

TEST(IdentifiersTest, EmptyIsInvalid) {
  absl::Status s = ValidateIdentifier("");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()), "identifier must not be empty: invalid argument");
}

TEST(IdentifiersTest, LengthIsCheckedBeforeCharacters) {
  std::string id(kMaxIdentifierLength + 1, 'x');
  absl::Status s = ValidateIdentifier(id);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      std::string(s.message()),
      "identifier \"" + id + "\" greater than maximum length (76 characters): invalid argument");

  // Too long and malformed: containerd reports the length.
  std::string bad(kMaxIdentifierLength + 1, '/');
  EXPECT_NE(std::string(ValidateIdentifier(bad).message()).find("greater than maximum length"),
            std::string::npos);
}

}  // namespace
}  // namespace berth
