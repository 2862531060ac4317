#include "runtime/bundle.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "sys/file.h"

namespace berth::runtime {
namespace {

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-bundle-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)sys::RemoveAll(dir_); }
  std::string root() const { return dir_ + "/root"; }
  std::string state() const { return dir_ + "/state"; }
  std::string dir_;
};

TEST_F(BundleTest, CreateLaysOutContainerdsBundle) {
  auto b = Bundle::Create(root(), state(), "ns1", "task-1", R"({"ociVersion":"1.0.2"})");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->path, state() + "/ns1/task-1");
  EXPECT_EQ(b->work, root() + "/ns1/task-1");
  auto spec = sys::ReadFile(b->File("config.json"));
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(*spec, R"({"ociVersion":"1.0.2"})");
  struct stat st;
  ASSERT_EQ(::stat(b->File("rootfs").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  char target[512] = {};
  ASSERT_GT(::readlink(b->File("work").c_str(), target, sizeof(target) - 1), 0);
  EXPECT_EQ(std::string(target), b->work);

  EXPECT_TRUE(absl::IsAlreadyExists(Bundle::Create(root(), state(), "ns1", "task-1", "").status()));

  ASSERT_TRUE(b->Delete().ok());
  EXPECT_NE(::access(b->path.c_str(), F_OK), 0);
  EXPECT_NE(::access(b->work.c_str(), F_OK), 0);
  EXPECT_TRUE(b->Delete().ok()) << "deleting twice is fine";
}

TEST_F(BundleTest, InvalidIdIsRejectedAndLeavesNothing) {
  auto b = Bundle::Create(root(), state(), "ns1", "../escape", "{}");
  EXPECT_TRUE(absl::IsInvalidArgument(b.status())) << b.status();
  EXPECT_NE(::access((state() + "/escape").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/escape").c_str(), F_OK), 0);
}

TEST_F(BundleTest, StaleWorkDirIsReplaced) {
  ASSERT_TRUE(sys::WriteFile(dir_ + "/placeholder", "", 0644).ok());
  ASSERT_EQ(::system(absl::StrCat("mkdir -p ", root(), "/ns1/t/old && touch ", root(),
                                  "/ns1/t/old/file").c_str()),
            0);
  auto b = Bundle::Create(root(), state(), "ns1", "t", "{}");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(::access((b->work + "/old").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::runtime
