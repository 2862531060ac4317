#include "metadata/content.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "content/digester.h"
#include "content/local_store.h"
#include "content/testsuite/testsuite.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metadata/test_util.h"

namespace berth::metadata {
namespace {

Digest Sha(absl::string_view data) { return content::Digester::FromBytes(data); }

using content::testsuite::ContentStoreSuite;

// Owns a metadata database, a local backend and one namespaced view, so that the content
// conformance suite can run against the metadata store exactly as the Content service uses it.
class OwningView : public content::Store {
 public:
  explicit OwningView(const std::string& dir) {
    auto backend = content::LocalStore::Open(absl::StrCat(dir, "/content"));
    EXPECT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    auto db = metadata::Store::Open(dir);
    EXPECT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    content_ = std::make_unique<ContentStore>(&db_->db(), backend_.get());
    view_ = content_->View("testing", std::nullopt);
  }

  absl::StatusOr<content::Info> Info(const Digest& d) override { return view_->Info(d); }
  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       std::span<const std::string> paths) override {
    return view_->Update(info, paths);
  }
  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) override {
    return view_->Walk(fn, filters);
  }
  absl::Status Delete(const Digest& d) override { return view_->Delete(d); }
  absl::StatusOr<std::string> ReadAt(const Digest& d, int64_t offset, size_t size) override {
    return view_->ReadAt(d, offset, size);
  }
  absl::StatusOr<sys::UniqueFd> OpenBlob(const Digest& d) override { return view_->OpenBlob(d); }
  absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total, const std::optional<Digest>& expected) override {
    return view_->Writer(ref, total, expected);
  }
  absl::StatusOr<content::Status> Status(const std::string& ref) override {
    return view_->Status(ref);
  }
  absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters) override {
    return view_->ListStatuses(filters);
  }
  absl::Status Abort(const std::string& ref) override { return view_->Abort(ref); }

 private:
  std::unique_ptr<content::LocalStore> backend_;
  std::unique_ptr<metadata::Store> db_;
  std::unique_ptr<ContentStore> content_;
  std::unique_ptr<content::Store> view_;
};

INSTANTIATE_TEST_SUITE_P(
    Metadata, ContentStoreSuite,
    ::testing::Values(content::testsuite::StoreFactory(
        [](const std::string& dir) -> std::unique_ptr<content::Store> {
          return std::make_unique<OwningView>(dir);
        })),
    [](const auto&) { return std::string("NamespacedView"); });

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto backend = content::LocalStore::Open(absl::StrCat(meta_.dir(), "/content"));
    ASSERT_TRUE(backend.ok()) << backend.status();
    backend_ = *std::move(backend);
    content_ = std::make_unique<ContentStore>(&meta_->db(), backend_.get());
  }

  Digest Commit(content::Store& store, const std::string& ref, const std::string& data) {
    auto w = store.Writer(ref, 0, std::nullopt);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return Sha(data);
    EXPECT_TRUE((*w)->Write(data).ok());
    absl::Status st = (*w)->Commit(static_cast<int64_t>(data.size()), Sha(data));
    EXPECT_TRUE(st.ok()) << st;
    return Sha(data);
  }

  TempStore meta_;
  std::unique_ptr<content::LocalStore> backend_;
  std::unique_ptr<ContentStore> content_;
};

TEST_F(ContentStoreTest, BlobsAreVisibleOnlyInTheirNamespace) {
  auto a = content_->View("a", std::nullopt);
  auto b = content_->View("b", std::nullopt);
  Digest d = Commit(*a, "ref", "hello");
  EXPECT_TRUE(a->Info(d).ok());
  EXPECT_EQ(b->Info(d).status().message(), absl::StrCat("content digest ", d.str(), ": not found"));
  EXPECT_TRUE(absl::IsNotFound(b->ReadAt(d, 0, 5).status()));
  EXPECT_TRUE(absl::IsNotFound(b->OpenBlob(d).status()));
  EXPECT_TRUE(b->List({})->empty());
  // Ingests are per namespace too: the same ref in b is a different ingest.
  auto wa = a->Writer("same", 0, std::nullopt);
  ASSERT_TRUE(wa.ok());
  auto wb = b->Writer("same", 0, std::nullopt);
  EXPECT_TRUE(wb.ok()) << wb.status();
}

TEST_F(ContentStoreTest, SharedBlobIsCommittedWithoutResendingIt) {
  auto a = content_->View("a", std::nullopt);
  auto b = content_->View("b", std::nullopt);
  Digest d = Commit(*a, "ref", "shared bytes");
  auto w = b->Writer("pull", 12, d);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->Status().offset, 12) << "the client learns it has nothing left to send";
  ASSERT_TRUE((*w)->Commit(12, d).ok());
  auto info = b->Info(d);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->size, 12);
  EXPECT_EQ(*b->ReadAt(d, 0, 100), "shared bytes");
  // Now present in b: a second writer expecting it is told it exists.
  EXPECT_TRUE(absl::IsAlreadyExists(b->Writer("again", 0, d).status()));
}

TEST_F(ContentStoreTest, SharedIngestThatIsWrittenToCopiesFirst) {
  auto a = content_->View("a", std::nullopt);
  auto b = content_->View("b", std::nullopt);
  Digest d = Commit(*a, "ref", "0123456789");
  auto w = b->Writer("pull", 0, d);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Truncate(4).ok());
  ASSERT_TRUE((*w)->Write("456789").ok());
  ASSERT_TRUE((*w)->Commit(10, d).ok());
  EXPECT_EQ(*b->ReadAt(d, 0, 10), "0123456789");
}

TEST_F(ContentStoreTest, DeleteRemovesOnlyTheNamespacesReference) {
  auto a = content_->View("a", std::nullopt);
  auto b = content_->View("b", std::nullopt);
  Digest d = Commit(*a, "ref", "kept");
  Commit(*b, "ref", "kept");
  ASSERT_TRUE(a->Delete(d).ok());
  EXPECT_TRUE(absl::IsNotFound(a->Info(d).status()));
  EXPECT_EQ(*b->ReadAt(d, 0, 4), "kept");
  EXPECT_TRUE(backend_->Info(d).ok()) << "the blob stays until garbage collection";
}

TEST_F(ContentStoreTest, WritesAreRecordedOnTheLease) {
  ASSERT_TRUE(meta_->leases().Create("ns", "l1", {}).ok());
  auto leased = content_->View("ns", std::string("l1"));
  auto w = leased->Writer("ingest-1", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  auto resources = meta_->leases().ListResources("ns", "l1");
  ASSERT_TRUE(resources.ok());
  EXPECT_THAT(*resources, ::testing::ElementsAre(LeaseResource{.id = "ingest-1", .type = "ingests"}));
  ASSERT_TRUE((*w)->Write("data").ok());
  ASSERT_TRUE((*w)->Commit(4, std::nullopt).ok());
  resources = meta_->leases().ListResources("ns", "l1");
  EXPECT_THAT(*resources,
              ::testing::ElementsAre(LeaseResource{.id = Sha("data").str(), .type = "content"}));

  auto unknown = content_->View("ns", std::string("nope"));
  auto bad = unknown->Writer("x", 0, std::nullopt);
  EXPECT_TRUE(absl::IsNotFound(bad.status()));
  EXPECT_EQ(bad.status().message(), "lease does not exist: not found");
}

TEST_F(ContentStoreTest, SurvivesReopen) {
  const Digest d = Sha("durable");
  {
    auto a = content_->View("a", std::nullopt);
    Commit(*a, "ref", "durable");
    auto w = a->Writer("half", 0, std::nullopt);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("par").ok());
  }
  content_.reset();
  meta_.Open();
  content_ = std::make_unique<ContentStore>(&meta_->db(), backend_.get());
  auto a = content_->View("a", std::nullopt);
  EXPECT_TRUE(a->Info(d).ok());
  auto st = a->Status("half");
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->offset, 3);
  auto resumed = a->Writer("half", 0, std::nullopt);
  ASSERT_TRUE(resumed.ok());
  EXPECT_EQ((*resumed)->Status().offset, 3);
}

}  // namespace
}  // namespace berth::metadata
