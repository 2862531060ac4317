#include "content/local_store.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "content/digester.h"
#include "content/testsuite/testsuite.h"
#include "gtest/gtest.h"

namespace berth::content {
namespace {

using testsuite::ContentStoreSuite;
using testsuite::StoreFactory;

std::unique_ptr<Store> OpenLocal(const std::string& dir) {
  auto store = LocalStore::Open(absl::StrCat(dir, "/root"));
  EXPECT_TRUE(store.ok()) << store.status();
  if (!store.ok()) return nullptr;
  return *std::move(store);
}

INSTANTIATE_TEST_SUITE_P(Local, ContentStoreSuite, ::testing::Values(StoreFactory(OpenLocal)),
                         [](const auto&) { return std::string("LocalStore"); });

class LocalStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testsuite::MakeTempDir();
    root_ = absl::StrCat(dir_, "/root");
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    testsuite::RemoveTempDir(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = LocalStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  // Every regular file under root, relative to it.
  std::vector<std::string> Files() const {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
      if (e.is_regular_file()) out.push_back(e.path().lexically_relative(root_).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_, root_;
  std::unique_ptr<LocalStore> store_;
};

TEST_F(LocalStoreTest, MessagesNameTheRef) {
  auto w = store_->Writer("busy", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(store_->Writer("busy", 0, std::nullopt).status().message(),
            "ref busy locked: unavailable");
  EXPECT_EQ(store_->Status("nope").status().message(), "ingest ref \"nope\": not found");
  ASSERT_TRUE((*w)->Write("twelve bytes").ok());
  EXPECT_EQ((*w)->Commit(13, std::nullopt).message(),
            "unexpected commit size 12, expected 13: failed precondition");
}

TEST_F(LocalStoreTest, LayoutOnDisk) {
  const std::string data = "layout";
  const berth::Digest dgst = Digester::FromBytes(data);
  auto w = store_->Writer("my-ref", 6, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(data).ok());

  const std::string ingest = store_->IngestPath("my-ref");
  EXPECT_EQ(ingest, absl::StrCat(root_, "/ingest/", Digester::FromBytes("my-ref").hex()));
  std::string ingest_rel = std::filesystem::path(ingest).lexically_relative(root_).string();
  EXPECT_EQ(Files(), (std::vector<std::string>{ingest_rel + "/data", ingest_rel + "/ref",
                                               ingest_rel + "/startedat", ingest_rel + "/total",
                                               ingest_rel + "/updatedat"}));
  std::ifstream ref_file(ingest + "/ref");
  std::string ref_text((std::istreambuf_iterator<char>(ref_file)), {});
  EXPECT_EQ(ref_text, "my-ref");

  ASSERT_TRUE((*w)->Commit(6, dgst, {{"a", "b"}}).ok());
  const std::string blob = absl::StrCat(root_, "/blobs/sha256/", dgst.hex());
  EXPECT_EQ(store_->BlobPath(dgst), blob);
  struct stat st;
  ASSERT_EQ(::stat(blob.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  EXPECT_EQ(st.st_size, 6);
  // Nothing else: no ingest, no temporary files.
  EXPECT_EQ(Files(), (std::vector<std::string>{absl::StrCat("blobs/sha256/", dgst.hex()),
                                               absl::StrCat("labels/sha256/", dgst.hex())}));
  EXPECT_TRUE(std::filesystem::is_empty(absl::StrCat(root_, "/ingest")));
}

TEST_F(LocalStoreTest, NoTempFilesAfterLabelUpdatesOrDelete) {
  auto w = store_->Writer("r", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("x").ok());
  const berth::Digest dgst = Digester::FromBytes("x");
  ASSERT_TRUE((*w)->Commit(1, dgst).ok());
  std::vector<std::string> paths = {"labels"};
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        store_->Update(Info{.digest = dgst, .labels = {{"n", absl::StrCat(i)}}}, paths).ok());
  }
  EXPECT_EQ(Files(), (std::vector<std::string>{absl::StrCat("blobs/sha256/", dgst.hex()),
                                               absl::StrCat("labels/sha256/", dgst.hex())}));
  ASSERT_TRUE(store_->Delete(dgst).ok());
  EXPECT_TRUE(Files().empty());
}

TEST_F(LocalStoreTest, CrashMidWriteResumesAfterReopen) {
  const std::string data = "first half|second half";
  const berth::Digest dgst = Digester::FromBytes(data);
  {
    auto w = store_->Writer("crash", static_cast<int64_t>(data.size()), std::nullopt);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data.substr(0, 11)).ok());
    // The process "dies": the store goes away first, then the writer, neither closed.
    store_.reset();
  }
  Reopen();
  auto statuses = store_->ListStatuses({});
  ASSERT_TRUE(statuses.ok());
  ASSERT_EQ(statuses->size(), 1u);
  EXPECT_EQ((*statuses)[0].ref, "crash");
  EXPECT_EQ((*statuses)[0].offset, 11);
  EXPECT_EQ((*statuses)[0].total, static_cast<int64_t>(data.size()));

  auto w = store_->Writer("crash", static_cast<int64_t>(data.size()), std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->Status().offset, 11);
  ASSERT_TRUE((*w)->Write(data.substr(11)).ok());
  ASSERT_TRUE((*w)->Commit(static_cast<int64_t>(data.size()), dgst).ok());
  EXPECT_EQ(*store_->ReadAt(dgst, 0, 100), data);

  // Committed content survives a restart.
  Reopen();
  EXPECT_EQ(store_->Info(dgst)->size, static_cast<int64_t>(data.size()));
}

TEST_F(LocalStoreTest, CorruptIngestStartsAfresh) {
  auto w = store_->Writer("broken", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("junk").ok());
  ASSERT_TRUE((*w)->Close().ok());
  std::filesystem::remove(store_->IngestPath("broken") + "/startedat");
  auto again = store_->Writer("broken", 0, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->Status().offset, 0);
  ASSERT_TRUE((*again)->Write("good").ok());
  EXPECT_TRUE((*again)->Commit(4, Digester::FromBytes("good")).ok());
}

TEST_F(LocalStoreTest, WalkSkipsStrayFiles) {
  auto w = store_->Writer("r", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("x").ok());
  ASSERT_TRUE((*w)->Commit(1, std::nullopt).ok());
  std::ofstream(absl::StrCat(root_, "/blobs/sha256/not-a-digest")) << "stray";
  std::filesystem::create_directories(absl::StrCat(root_, "/blobs/md5"));
  std::ofstream(absl::StrCat(root_, "/blobs/md5/abcd")) << "stray";
  auto list = store_->List({});
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].digest, Digester::FromBytes("x"));
}

TEST_F(LocalStoreTest, WriterOutlivingStoreStillWorks) {
  auto w = store_->Writer("r", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  store_.reset();
  ASSERT_TRUE((*w)->Write("late").ok());
  ASSERT_TRUE((*w)->Commit(4, Digester::FromBytes("late")).ok());
  Reopen();
  EXPECT_TRUE(store_->Info(Digester::FromBytes("late")).ok());
}

TEST(DigesterTest, KnownVectors) {
  EXPECT_EQ(Digester::FromBytes("").str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Digester::FromBytes("abc").str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Digester d;
  d.Update("a");
  EXPECT_EQ(d.Current(), Digester::FromBytes("a"));  // Current does not end the stream
  d.Update("bc");
  EXPECT_EQ(d.Current(), Digester::FromBytes("abc"));
}

}  // namespace
}  // namespace berth::content
