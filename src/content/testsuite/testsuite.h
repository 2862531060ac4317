// The content store conformance suite (containerd's content/testsuite): every Store
// implementation instantiates it with a factory that opens a store on an empty directory:
//
//   INSTANTIATE_TEST_SUITE_P(Local, ContentStoreSuite, ::testing::Values(StoreFactory(...)));
//
// Thread-safety: test code; each test owns its directory and store.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "content/store.h"
#include "gtest/gtest.h"

namespace berth::content::testsuite {

// Opens a store rooted at (or keeping its state under) the empty directory `dir`.
using StoreFactory = std::function<std::unique_ptr<Store>(const std::string& dir)>;

class ContentStoreSuite : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Writes `data` under `ref` in one Write and commits it with its digest.
  berth::Digest Commit(const std::string& ref, const std::string& data, const Labels& labels = {});

  std::string dir_;
  std::unique_ptr<Store> store_;
};

// A temporary directory under $TEST_TMPDIR or /tmp, removed by RemoveTempDir.
std::string MakeTempDir();
void RemoveTempDir(const std::string& dir);

}  // namespace berth::content::testsuite
