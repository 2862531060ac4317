#include "content/testsuite/testsuite.h"

#include "gmock/gmock.h"

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content/digester.h"

namespace berth::content::testsuite {
namespace {

berth::Digest Sha(absl::string_view data) { return Digester::FromBytes(data); }

std::vector<std::string> Refs(const std::vector<content::Status>& statuses) {
  std::vector<std::string> out;
  for (const auto& s : statuses) out.push_back(s.ref);
  return out;
}

std::vector<std::string> Digests(const std::vector<content::Info>& infos) {
  std::vector<std::string> out;
  for (const auto& i : infos) out.push_back(i.digest.str());
  return out;
}

std::string Pseudorandom(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

}  // namespace

std::string MakeTempDir() {
  const char* base = getenv("TEST_TMPDIR");
  std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/berth-content-XXXXXX");
  if (mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
  return tmpl;
}

void RemoveTempDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void ContentStoreSuite::SetUp() {
  dir_ = MakeTempDir();
  store_ = GetParam()(dir_);
  ASSERT_NE(store_, nullptr);
}

void ContentStoreSuite::TearDown() {
  store_.reset();
  RemoveTempDir(dir_);
}

berth::Digest ContentStoreSuite::Commit(const std::string& ref, const std::string& data,
                                        const Labels& labels) {
  berth::Digest dgst = Sha(data);
  auto w = store_->Writer(ref, static_cast<int64_t>(data.size()), std::nullopt);
  EXPECT_TRUE(w.ok()) << w.status();
  if (!w.ok()) return dgst;
  EXPECT_TRUE((*w)->Write(data).ok());
  absl::Status st = (*w)->Commit(static_cast<int64_t>(data.size()), dgst, labels);
  EXPECT_TRUE(st.ok()) << st;
  return dgst;
}

TEST_P(ContentStoreSuite, WriteCommitInfoRead) {
  const std::string data = "hello, content store";
  const berth::Digest dgst = Sha(data);
  absl::Time before = absl::Now() - absl::Seconds(1);
  auto w = store_->Writer("ref-1", static_cast<int64_t>(data.size()), std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Write(data.substr(0, 7)).ok());
  ASSERT_TRUE((*w)->Write(data.substr(7)).ok());
  EXPECT_EQ((*w)->Digest(), dgst);
  content::Status ws = (*w)->Status();
  EXPECT_EQ(ws.ref, "ref-1");
  EXPECT_EQ(ws.offset, static_cast<int64_t>(data.size()));
  EXPECT_EQ(ws.total, static_cast<int64_t>(data.size()));

  auto ingest = store_->Status("ref-1");
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  EXPECT_EQ(ingest->offset, static_cast<int64_t>(data.size()));
  EXPECT_GE(ingest->started_at, before);

  ASSERT_TRUE((*w)->Commit(static_cast<int64_t>(data.size()), dgst, {{"k", "v"}}).ok());

  auto info = store_->Info(dgst);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->digest, dgst);
  EXPECT_EQ(info->size, static_cast<int64_t>(data.size()));
  EXPECT_EQ(info->labels, (Labels{{"k", "v"}}));
  EXPECT_GE(info->created_at, before);
  EXPECT_GE(info->updated_at, info->created_at);

  auto read = store_->ReadAt(dgst, 0, data.size());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, data);

  // The ingest is gone once committed.
  EXPECT_TRUE(absl::IsNotFound(store_->Status("ref-1").status()));
  auto list = store_->List({});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(Digests(*list), std::vector<std::string>{dgst.str()});
  // A committed writer is finished.
  EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Write("more")));
  EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Commit(0, std::nullopt)));
}

TEST_P(ContentStoreSuite, CommitWithWrongDigestFailsAndShowsNothing) {
  const std::string data = "some bytes";
  const berth::Digest wrong = Sha("other bytes");
  auto w = store_->Writer("ref", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(data).ok());
  absl::Status st = (*w)->Commit(0, wrong);
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  EXPECT_EQ(st.message(), absl::StrCat("unexpected commit digest ", Sha(data).str(), ", expected ",
                                       wrong.str(), ": failed precondition"));
  EXPECT_TRUE(absl::IsNotFound(store_->Info(Sha(data)).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->Info(wrong).status()));
  EXPECT_TRUE(store_->List({})->empty());
  // The writer is done; the ref is free again.
  EXPECT_FALSE((*w)->Write("more").ok());
  auto again = store_->Writer("ref", 0, std::nullopt);
  EXPECT_TRUE(again.ok()) << again.status();
}

TEST_P(ContentStoreSuite, CommitWithWrongSizeFailsAndShowsNothing) {
  const std::string data = "twelve bytes";
  auto w = store_->Writer("ref", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(data).ok());
  absl::Status st = (*w)->Commit(13, Sha(data));
  EXPECT_TRUE(absl::IsFailedPrecondition(st)) << st;
  // The wording differs between the local store and containerd's metadata store; both name both
  // sizes.
  EXPECT_THAT(std::string(st.message()),
              ::testing::AllOf(::testing::HasSubstr("12"), ::testing::HasSubstr("13")));
  EXPECT_TRUE(absl::IsNotFound(store_->Info(Sha(data)).status()));
  EXPECT_TRUE(store_->List({})->empty());
}

TEST_P(ContentStoreSuite, ResumeAfterClose) {
  const std::string data = Pseudorandom(100000, 1);
  const berth::Digest dgst = Sha(data);
  const size_t half = data.size() / 2;
  {
    auto w = store_->Writer("resume", static_cast<int64_t>(data.size()), std::nullopt);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(data.substr(0, half)).ok());
    ASSERT_TRUE((*w)->Close().ok());
    // A closed writer no longer writes.
    EXPECT_TRUE(absl::IsFailedPrecondition((*w)->Write("x")));
  }
  auto ingest = store_->Status("resume");
  ASSERT_TRUE(ingest.ok()) << ingest.status();
  EXPECT_EQ(ingest->offset, static_cast<int64_t>(half));
  EXPECT_EQ(ingest->total, static_cast<int64_t>(data.size()));

  auto w = store_->Writer("resume", static_cast<int64_t>(data.size()), std::nullopt);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ((*w)->Status().offset, static_cast<int64_t>(half));
  EXPECT_EQ((*w)->Status().started_at, ingest->started_at);
  EXPECT_EQ((*w)->Digest(), Sha(data.substr(0, half)));
  ASSERT_TRUE((*w)->Write(data.substr(half)).ok());
  ASSERT_TRUE((*w)->Commit(static_cast<int64_t>(data.size()), dgst).ok());
  auto read = store_->ReadAt(dgst, 0, data.size());
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(*read == data);
}

TEST_P(ContentStoreSuite, ResumeWithDifferentTotalFails) {
  auto w = store_->Writer("ref", 10, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("abc").ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto again = store_->Writer("ref", 11, std::nullopt);
  EXPECT_FALSE(again.ok());
  // Unknown total (0) resumes.
  auto unknown = store_->Writer("ref", 0, std::nullopt);
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ((*unknown)->Status().total, 10);
}

TEST_P(ContentStoreSuite, SecondWriterOnLockedRefIsUnavailable) {
  auto w = store_->Writer("busy", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  auto second = store_->Writer("busy", 0, std::nullopt);
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_THAT(std::string(second.status().message()), ::testing::HasSubstr("busy"));
  // Other refs are independent.
  EXPECT_TRUE(store_->Writer("other", 0, std::nullopt).ok());
  ASSERT_TRUE((*w)->Close().ok());
  EXPECT_TRUE(store_->Writer("busy", 0, std::nullopt).ok());
}

TEST_P(ContentStoreSuite, ConcurrentWritersOnOneRefOnlyOneWins) {
  constexpr int kThreads = 8;
  std::atomic<int> won{0}, unavailable{0};
  std::vector<std::unique_ptr<Writer>> held(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      auto w = store_->Writer("contended", 0, std::nullopt);
      if (w.ok()) {
        ++won;
        held[i] = *std::move(w);  // kept open until every thread has tried
      } else if (absl::IsUnavailable(w.status())) {
        ++unavailable;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(won.load(), 1);
  EXPECT_EQ(unavailable.load(), kThreads - 1);
}

TEST_P(ContentStoreSuite, EmptyRefIsInvalid) {
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Writer("", 0, std::nullopt).status()));
}

TEST_P(ContentStoreSuite, ListStatusesWithFilters) {
  std::vector<std::unique_ptr<Writer>> writers;
  for (const char* ref : {"b-1", "a-2", "a-1"}) {
    auto w = store_->Writer(ref, 42, std::nullopt);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE((*w)->Write(ref).ok());
    writers.push_back(*std::move(w));
  }
  auto all = store_->ListStatuses({});
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(Refs(*all), (std::vector<std::string>{"a-1", "a-2", "b-1"}));
  EXPECT_EQ((*all)[0].offset, 3);
  EXPECT_EQ((*all)[0].total, 42);

  std::vector<std::string> prefix = {"ref~=^a-"};
  EXPECT_EQ(Refs(*store_->ListStatuses(prefix)), (std::vector<std::string>{"a-1", "a-2"}));
  std::vector<std::string> exact = {"ref==b-1"};
  EXPECT_EQ(Refs(*store_->ListStatuses(exact)), std::vector<std::string>{"b-1"});
  std::vector<std::string> either = {"ref==b-1", "ref==a-2"};
  EXPECT_EQ(Refs(*store_->ListStatuses(either)), (std::vector<std::string>{"a-2", "b-1"}));
  std::vector<std::string> bad = {"ref=="};
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ListStatuses(bad).status()));

  auto one = store_->Status("a-2");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->ref, "a-2");
  EXPECT_EQ(one->total, 42);
  auto missing = store_->Status("nope");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("nope"));
}

TEST_P(ContentStoreSuite, AbortRemovesIngest) {
  auto w = store_->Writer("doomed", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("partial").ok());
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_TRUE(store_->Abort("doomed").ok());
  EXPECT_TRUE(absl::IsNotFound(store_->Status("doomed").status()));
  EXPECT_TRUE(store_->ListStatuses({})->empty());
  EXPECT_TRUE(absl::IsNotFound(store_->Abort("doomed")));
  // The ref starts afresh.
  auto fresh = store_->Writer("doomed", 0, std::nullopt);
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ((*fresh)->Status().offset, 0);
  EXPECT_EQ((*fresh)->Digest(), Sha(""));
}

TEST_P(ContentStoreSuite, DeleteRemovesBlob) {
  berth::Digest dgst = Commit("ref", "delete me");
  ASSERT_TRUE(store_->Delete(dgst).ok());
  const std::string not_found = absl::StrCat("content digest ", dgst.str(), ": not found");
  EXPECT_EQ(store_->Info(dgst).status().message(), not_found);
  EXPECT_TRUE(absl::IsNotFound(store_->Info(dgst).status()));
  EXPECT_TRUE(absl::IsNotFound(store_->ReadAt(dgst, 0, 1).status()));
  absl::Status again = store_->Delete(dgst);
  EXPECT_TRUE(absl::IsNotFound(again));
  EXPECT_EQ(again.message(), not_found);
  EXPECT_TRUE(store_->List({})->empty());
  // The same content can be committed again after delete.
  EXPECT_EQ(Commit("ref", "delete me"), dgst);
  EXPECT_TRUE(store_->Info(dgst).ok());
}

TEST_P(ContentStoreSuite, UpdateLabelsWithFieldPaths) {
  berth::Digest dgst = Commit("ref", "labelled", {{"a", "1"}, {"b", "2"}});
  content::Info in{.digest = dgst, .labels = {{"a", "x"}, {"c", "3"}}};

  std::vector<std::string> one = {"labels.a"};
  auto updated = store_->Update(in, one);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->labels, (Labels{{"a", "x"}, {"b", "2"}}));
  EXPECT_EQ(store_->Info(dgst)->labels, (Labels{{"a", "x"}, {"b", "2"}}));

  // A listed key absent from info.labels is removed.
  std::vector<std::string> remove = {"labels.b"};
  EXPECT_EQ(store_->Update(in, remove)->labels, (Labels{{"a", "x"}}));

  std::vector<std::string> all = {"labels"};
  EXPECT_EQ(store_->Update(in, all)->labels, (Labels{{"a", "x"}, {"c", "3"}}));
  EXPECT_EQ(store_->Update(content::Info{.digest = dgst}, {})->labels, Labels{});
  EXPECT_EQ(store_->Info(dgst)->labels, Labels{});

  std::vector<std::string> size = {"size"};
  auto bad = store_->Update(in, size);
  EXPECT_TRUE(absl::IsInvalidArgument(bad.status())) << bad.status();

  content::Info missing{.digest = Sha("missing"), .labels = {{"a", "1"}}};
  EXPECT_TRUE(absl::IsNotFound(store_->Update(missing, all).status()));

  content::Info huge{.digest = dgst, .labels = {{"k", std::string(5000, 'v')}}};
  EXPECT_TRUE(absl::IsInvalidArgument(store_->Update(huge, all).status()));
}

TEST_P(ContentStoreSuite, WalkWithFilters) {
  berth::Digest a = Commit("a", "blob a", {{"kind", "config"}});
  berth::Digest b = Commit("b", "blob b", {{"kind", "layer"}});
  berth::Digest c = Commit("c", "blob c");
  auto all = store_->List({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);

  std::vector<std::string> by_label = {"labels.kind==layer"};
  EXPECT_EQ(Digests(*store_->List(by_label)), std::vector<std::string>{b.str()});
  std::vector<std::string> has_label = {"labels.kind"};
  EXPECT_EQ(store_->List(has_label)->size(), 2u);
  std::vector<std::string> by_digest = {absl::StrCat("digest==", c.str())};
  EXPECT_EQ(Digests(*store_->List(by_digest)), std::vector<std::string>{c.str()});
  std::vector<std::string> either = {absl::StrCat("digest==", a.str()), "labels.kind==layer"};
  EXPECT_EQ(store_->List(either)->size(), 2u);
  // As containerd, size is not a filterable field.
  std::vector<std::string> size = {"size"};
  EXPECT_TRUE(store_->List(size)->empty());

  // An error from the callback stops the walk.
  int calls = 0;
  absl::Status st = store_->Walk(
      [&](const content::Info&) {
        ++calls;
        return absl::CancelledError("stop");
      },
      {});
  EXPECT_TRUE(absl::IsCancelled(st));
  EXPECT_EQ(calls, 1);
}

TEST_P(ContentStoreSuite, CommitOfExistingContentIsAlreadyExists) {
  const std::string data = "duplicate";
  berth::Digest dgst = Commit("first", data);
  auto w = store_->Writer("second", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(data).ok());
  absl::Status st = (*w)->Commit(static_cast<int64_t>(data.size()), dgst);
  EXPECT_TRUE(absl::IsAlreadyExists(st)) << st;
  EXPECT_EQ(st.message(), absl::StrCat("content ", dgst.str(), ": already exists"));
  EXPECT_TRUE(absl::IsNotFound(store_->Status("second").status()));
  EXPECT_EQ(*store_->ReadAt(dgst, 0, 100), data);

  // Opening a writer for content already present fails early.
  auto early = store_->Writer("third", 0, dgst);
  EXPECT_TRUE(absl::IsAlreadyExists(early.status())) << early.status();
  // ... and leaves the ref unlocked.
  EXPECT_TRUE(store_->Writer("third", 0, std::nullopt).ok());
}

TEST_P(ContentStoreSuite, ReadAtOffsets) {
  const std::string data = "0123456789abcdef";
  berth::Digest dgst = Commit("ref", data);
  EXPECT_EQ(*store_->ReadAt(dgst, 0, 4), "0123");
  EXPECT_EQ(*store_->ReadAt(dgst, 10, 4), "abcd");
  EXPECT_EQ(*store_->ReadAt(dgst, 12, 100), "cdef");
  EXPECT_EQ(*store_->ReadAt(dgst, 16, 4), "");
  EXPECT_EQ(*store_->ReadAt(dgst, 1000, 4), "");
  EXPECT_TRUE(absl::IsInvalidArgument(store_->ReadAt(dgst, -1, 4).status()));
}

TEST_P(ContentStoreSuite, TruncateRestartsIngest) {
  auto w = store_->Writer("ref", 0, std::nullopt);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("garbage").ok());
  EXPECT_TRUE(absl::IsInvalidArgument((*w)->Truncate(3)));
  ASSERT_TRUE((*w)->Truncate(0).ok());
  EXPECT_EQ((*w)->Status().offset, 0);
  ASSERT_TRUE((*w)->Write("good").ok());
  ASSERT_TRUE((*w)->Commit(4, Sha("good")).ok());
  EXPECT_EQ(*store_->ReadAt(Sha("good"), 0, 10), "good");
}

TEST_P(ContentStoreSuite, LargeBlobInChunks) {
  const size_t kSize = 8 << 20;
  const std::string data = Pseudorandom(kSize, 7);
  const berth::Digest dgst = Sha(data);
  auto w = store_->Writer("large", static_cast<int64_t>(kSize), dgst);
  ASSERT_TRUE(w.ok()) << w.status();
  // Uneven chunks, as a network stream delivers them.
  size_t off = 0;
  for (size_t chunk = 1; off < kSize; chunk = chunk * 3 + 1) {
    size_t n = std::min(chunk % (300 << 10) + 1, kSize - off);
    ASSERT_TRUE((*w)->Write(absl::string_view(data).substr(off, n)).ok());
    off += n;
  }
  EXPECT_EQ((*w)->Status().offset, static_cast<int64_t>(kSize));
  ASSERT_TRUE((*w)->Commit(static_cast<int64_t>(kSize), dgst).ok());
  EXPECT_EQ(store_->Info(dgst)->size, static_cast<int64_t>(kSize));

  Digester back;
  for (int64_t pos = 0;;) {
    auto chunk = store_->ReadAt(dgst, pos, 1 << 20);
    ASSERT_TRUE(chunk.ok());
    if (chunk->empty()) break;
    back.Update(*chunk);
    pos += static_cast<int64_t>(chunk->size());
  }
  EXPECT_EQ(back.Current(), dgst);
}

}  // namespace berth::content::testsuite
