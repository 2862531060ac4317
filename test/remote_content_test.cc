// The content store conformance suite (src/content/testsuite) run against RemoteContentStore,
// i.e. against a real berthd's Content API through the client library: the image library
// (import, export, walk) behaves the same over the wire as on the daemon's local store.

#include "client/remote_content.h"

#include <gtest/gtest.h>

#include "content/testsuite/testsuite.h"
#include "test/daemon_fixture.h"

namespace berth::test {
namespace {

// A RemoteContentStore that owns the daemon and the client it talks to, so the suite's factory
// can hand out a self-contained store; each instance gets its own berthd.
class DaemonContentStore final : public content::Store {
 public:
  static std::unique_ptr<content::Store> Open(const std::string& /*dir*/) {
    auto store = std::unique_ptr<DaemonContentStore>(new DaemonContentStore());
    ::testing::AssertionResult started = store->daemon_.Start();
    EXPECT_TRUE(started);
    if (!started) return nullptr;
    store->client_ = store->daemon_.NewClient("remote-content");
    store->remote_ = std::make_unique<client::RemoteContentStore>(*store->client_);
    return store;
  }

  absl::StatusOr<content::Info> Info(const berth::Digest& d) override { return remote_->Info(d); }
  absl::StatusOr<content::Info> Update(const content::Info& info,
                                       std::span<const std::string> paths) override {
    return remote_->Update(info, paths);
  }
  absl::Status Walk(const WalkFn& fn, std::span<const std::string> filters) override {
    return remote_->Walk(fn, filters);
  }
  absl::Status Delete(const berth::Digest& d) override { return remote_->Delete(d); }
  absl::StatusOr<std::string> ReadAt(const berth::Digest& d, int64_t offset, size_t size) override {
    return remote_->ReadAt(d, offset, size);
  }
  absl::StatusOr<sys::UniqueFd> OpenBlob(const berth::Digest& d) override {
    return remote_->OpenBlob(d);
  }
  absl::StatusOr<std::unique_ptr<content::Writer>> Writer(
      const std::string& ref, int64_t total,
      const std::optional<berth::Digest>& expected) override {
    return remote_->Writer(ref, total, expected);
  }
  absl::StatusOr<content::Status> Status(const std::string& ref) override {
    return remote_->Status(ref);
  }
  absl::StatusOr<std::vector<content::Status>> ListStatuses(
      std::span<const std::string> filters) override {
    return remote_->ListStatuses(filters);
  }
  absl::Status Abort(const std::string& ref) override { return remote_->Abort(ref); }

 private:
  DaemonContentStore() = default;

  // Destroyed in reverse: the store, then the client, then the daemon.
  Berthd daemon_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<client::RemoteContentStore> remote_;
};

using content::testsuite::ContentStoreSuite;
INSTANTIATE_TEST_SUITE_P(
    Remote, ContentStoreSuite,
    ::testing::Values(content::testsuite::StoreFactory(&DaemonContentStore::Open)),
    [](const auto&) { return std::string("RemoteContentStore"); });

TEST(RemoteContentStoreTest, OpenBlobIsUnimplemented) {
  auto store = DaemonContentStore::Open("");
  ASSERT_NE(store, nullptr);
  auto d = berth::Digest::Parse("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(absl::IsUnimplemented(store->OpenBlob(*d).status()));
}

}  // namespace
}  // namespace berth::test
