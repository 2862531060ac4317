// Helpers shared by the images tests: temporary directories, blobs put into a store, and tar
// archives built in memory (libarchive), so that malformed archives can be crafted exactly.
// Thread-safety: test code, one thread.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "content/digester.h"
#include "content/store.h"
#include "gtest/gtest.h"
#include "images/types.h"

namespace berth::images::testing {

// A directory under $TEST_TMPDIR or /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string tmpl = absl::StrCat(base != nullptr ? base : "/tmp", "/berth-images-XXXXXX");
    path_ = mkdtemp(tmpl.data()) != nullptr ? tmpl : "";
    EXPECT_FALSE(path_.empty()) << "mkdtemp failed";
  }
  ~TempDir() {
    std::error_code ec;
    // Committed blobs are read-only; make them writable so remove_all succeeds as non-root.
    for (auto& e : std::filesystem::recursive_directory_iterator(path_, ec)) {
      std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all,
                                   std::filesystem::perm_options::add, ec);
    }
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A status message as std::string, so that matchers print it readably (Debian's abseil has its
// own string_view, which gtest prints character by character).
inline std::string Msg(const absl::Status& s) { return std::string(s.message()); }

// Commits `data` to `store` and returns its descriptor.
inline Descriptor Put(content::Store& store, const std::string& data,
                      const std::string& media_type) {
  berth::Digest d = content::Digester::FromBytes(data);
  auto w = store.Writer(absl::StrCat("test-", d.str()), static_cast<int64_t>(data.size()), d);
  if (w.ok()) {
    EXPECT_TRUE((*w)->Write(data).ok());
    absl::Status st = (*w)->Commit(static_cast<int64_t>(data.size()), d);
    EXPECT_TRUE(st.ok() || absl::IsAlreadyExists(st)) << st;
  } else {
    EXPECT_TRUE(absl::IsAlreadyExists(w.status())) << w.status();
  }
  return Descriptor{
      .media_type = media_type, .digest = d, .size = static_cast<int64_t>(data.size())};
}

// One member of a crafted tar.
struct Member {
  enum Type { kFile, kDir, kSymlink, kHardlink };
  std::string name;
  std::string data;  // file content, or the link target
  Type type = kFile;
};

inline std::string BlobName(const berth::Digest& d) {
  return absl::StrCat("blobs/", d.algorithm(), "/", d.hex());
}

// A tar (pax) of `members`, in order.
inline std::string MakeTar(const std::vector<Member>& members) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, &out, nullptr,
      [](struct archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  for (const Member& m : members) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, m.name.c_str());
    archive_entry_set_perm(e, 0644);
    switch (m.type) {
      case Member::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(m.data.size()));
        break;
      case Member::kDir:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case Member::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, m.data.c_str());
        break;
      case Member::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, m.data.c_str());
        break;
    }
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (m.type == Member::kFile) archive_write_data(a, m.data.data(), m.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Writes `data` to a new file under `dir` and opens it for reading.
inline int OpenBytes(const std::string& dir, const std::string& data) {
  static int n = 0;
  std::string path = absl::StrCat(dir, "/input-", ++n);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace berth::images::testing
