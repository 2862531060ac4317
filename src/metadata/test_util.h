// Test helpers for the metadata stores: a fresh database in a temp dir, removed afterwards.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "metadata/store.h"

namespace berth::metadata {

class TempStore {
 public:
  TempStore() {
    char tmpl[] = "/tmp/berth-metadata-XXXXXX";
    dir_ = mkdtemp(tmpl);
    Open();
  }
  ~TempStore() {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    store_.reset();
    auto s = Store::Open(dir_);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) store_ = std::move(*s);
  }
  Store& operator*() { return *store_; }
  Store* operator->() { return store_.get(); }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace berth::metadata
