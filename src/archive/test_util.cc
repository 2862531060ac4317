#include "archive/test_util.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "content/digester.h"

namespace berth::archive::testing {
namespace {

void PutOctal(char* field, size_t width, int64_t value) {
  // width-1 octal digits, zero-padded, then NUL.
  std::string digits = absl::StrFormat("%0*llo", static_cast<int>(width - 1),
                                       static_cast<unsigned long long>(value));
  if (digits.size() > width - 1) digits = digits.substr(digits.size() - (width - 1));
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

void PutString(char* field, size_t width, const std::string& s) {
  std::memcpy(field, s.data(), std::min(width, s.size()));
}

std::string Header(const std::string& name, char typeflag, const RawEntry& e, int64_t size,
                   bool corrupt_checksum) {
  char h[512] = {};
  PutString(h, 100, name);
  PutOctal(h + 100, 8, e.mode);
  PutOctal(h + 108, 8, e.uid);
  PutOctal(h + 116, 8, e.gid);
  PutOctal(h + 124, 12, size);
  PutOctal(h + 136, 12, e.mtime);
  h[156] = typeflag;
  PutString(h + 157, 100, e.linkname);
  std::memcpy(h + 257,
              "ustar\0"
              "00",
              8);
  PutOctal(h + 329, 8, e.devmajor);
  PutOctal(h + 337, 8, e.devminor);
  std::memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  if (corrupt_checksum) sum += 1;
  std::string chk = absl::StrFormat("%06o", sum);
  std::memcpy(h + 148, chk.data(), 6);
  h[154] = '\0';
  h[155] = ' ';
  return std::string(h, sizeof(h));
}

std::string Padded(std::string data) {
  data.resize((data.size() + 511) / 512 * 512, '\0');
  return data;
}

std::string PaxRecord(const std::string& key, const std::string& value) {
  // "<len> <key>=<value>\n", where <len> counts itself.
  size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  return absl::StrCat(len, " ", key, "=", value, "\n");
}

}  // namespace

TempDir::TempDir() {
  char tmpl[] = "/tmp/berth-archive-XXXXXX";
  char* p = ::mkdtemp(tmpl);
  if (p == nullptr) std::abort();
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::Sub(const std::string& name, bool mkdir) const {
  std::string p = absl::StrCat(path_, "/", name);
  if (mkdir) std::filesystem::create_directories(p);
  return p;
}

RawEntry File(std::string name, std::string data) {
  RawEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  return e;
}
RawEntry Dir(std::string name) {
  RawEntry e;
  e.name = std::move(name);
  e.typeflag = '5';
  e.mode = 0755;
  return e;
}
RawEntry Symlink(std::string name, std::string target) {
  RawEntry e;
  e.name = std::move(name);
  e.typeflag = '2';
  e.mode = 0777;
  e.linkname = std::move(target);
  return e;
}
RawEntry Hardlink(std::string name, std::string target) {
  RawEntry e;
  e.name = std::move(name);
  e.typeflag = '1';
  e.linkname = std::move(target);
  return e;
}
RawEntry CharDev(std::string name, uint32_t major, uint32_t minor) {
  RawEntry e;
  e.name = std::move(name);
  e.typeflag = '3';
  e.mode = 0666;
  e.devmajor = major;
  e.devminor = minor;
  return e;
}
RawEntry BlockDev(std::string name, uint32_t major, uint32_t minor) {
  RawEntry e = CharDev(std::move(name), major, minor);
  e.typeflag = '4';
  e.mode = 0660;
  return e;
}
RawEntry Fifo(std::string name) {
  RawEntry e;
  e.name = std::move(name);
  e.typeflag = '6';
  return e;
}

TarBuilder& TarBuilder::Add(const RawEntry& e) {
  std::vector<std::pair<std::string, std::string>> pax = e.pax;
  std::string name = e.name;
  RawEntry copy = e;
  if (name.size() > 100) {
    pax.emplace_back("path", name);
    name = name.substr(0, 100);
  }
  if (e.linkname.size() > 100) {
    pax.emplace_back("linkpath", e.linkname);
    copy.linkname = e.linkname.substr(0, 100);
  }
  if (!pax.empty()) {
    std::string records;
    for (const auto& [k, v] : pax) records += PaxRecord(k, v);
    RawEntry ph;
    ph.mode = 0644;
    out_ += Header("PaxHeaders.0/" + name.substr(0, 80), 'x', ph,
                   static_cast<int64_t>(records.size()), false);
    out_ += Padded(records);
  }
  int64_t size = e.declared_size.value_or(static_cast<int64_t>(e.data.size()));
  out_ += Header(name, e.typeflag, copy, size, e.corrupt_checksum);
  out_ += Padded(e.data);
  return *this;
}

TarBuilder& TarBuilder::Raw(std::string bytes) {
  out_ += bytes;
  return *this;
}

std::string TarBuilder::Build(bool end_blocks) const {
  std::string out = out_;
  if (end_blocks) out.append(1024, '\0');
  return out;
}

std::string Compress(const std::string& data, Compression c) {
  struct archive* a = archive_write_new();
  switch (c) {
    case Compression::kGzip:
      archive_write_add_filter_gzip(a);
      break;
    case Compression::kZstd:
      archive_write_add_filter_zstd(a);
      break;
    case Compression::kXz:
      archive_write_add_filter_xz(a);
      break;
    case Compression::kBzip2:
      archive_write_add_filter_bzip2(a);
      break;
    case Compression::kNone:
      break;
  }
  archive_write_set_format_raw(a);
  archive_write_set_bytes_per_block(a, 0);
  std::string out;
  auto write = [](struct archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
    static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  };
  EXPECT_EQ(archive_write_open2(a, &out, nullptr, write, nullptr, nullptr), ARCHIVE_OK);
  struct archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
  archive_entry_free(e);
  if (!data.empty()) {
    EXPECT_EQ(archive_write_data(a, data.data(), data.size()),
              static_cast<la_ssize_t>(data.size()));
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

sys::UniqueFd MemFd(const std::string& data) {
  sys::UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  EXPECT_TRUE(fd.valid());
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::lseek(fd.get(), 0, SEEK_SET);
  return fd;
}

std::string ReadAllFd(int fd) {
  std::string out;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::StatusOr<ApplyResult> ApplyBytes(const std::string& data, const std::string& root,
                                       const ApplyOptions& options, bool via_pipe) {
  if (!via_pipe) {
    sys::UniqueFd fd = MemFd(data);
    return ApplyLayer(fd.get(), root, options);
  }
  // A failed apply stops reading; the writer then gets EPIPE, not a fatal SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return absl::InternalError("pipe");
  sys::UniqueFd rd(p[0]);
  std::thread writer([wfd = p[1], &data] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(wfd, data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::close(wfd);
  });
  absl::StatusOr<ApplyResult> result = ApplyLayer(rd.get(), root, options);
  rd.reset();
  writer.join();
  return result;
}

std::string Sha256Digest(const std::string& data) {
  return content::Digester::FromBytes(data).str();
}

std::map<std::string, std::string> Snapshot(const std::string& dir,
                                            const std::vector<std::string>& skip, bool with_root) {
  std::map<std::string, std::string> out;
  auto describe = [](const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return std::string("missing");
    std::string d = absl::StrFormat("type=%o mode=%o owner=%d:%d nlink=%d mtime=%d.%09d",
                                    st.st_mode & S_IFMT, st.st_mode & 07777, st.st_uid, st.st_gid,
                                    st.st_nlink, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      absl::StrAppend(&d, " size=", st.st_size, " content=", Sha256Digest(ReadFileOrDie(path)));
    } else if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf));
      absl::StrAppend(&d, " target=", std::string(buf, n > 0 ? static_cast<size_t>(n) : 0));
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      absl::StrAppend(&d, " rdev=", major(st.st_rdev), ",", minor(st.st_rdev));
    }
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof(names));
    for (ssize_t i = 0; i < n;) {
      std::string key(names + i);
      i += static_cast<ssize_t>(key.size()) + 1;
      if (key.rfind("user.", 0) != 0 && key.rfind("trusted.", 0) != 0 &&
          key != "security.capability") {
        continue;
      }
      char value[4096];
      ssize_t vn = ::lgetxattr(path.c_str(), key.c_str(), value, sizeof(value));
      absl::StrAppend(&d, " xattr:", key, "=",
                      absl::CHexEscape(std::string(value, vn > 0 ? static_cast<size_t>(vn) : 0)));
    }
    return d;
  };
  if (with_root) out[""] = describe(dir);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    std::string rel = it->path().lexically_relative(dir).string();
    bool skipped = false;
    for (const std::string& s : skip) {
      if (rel == s || rel.rfind(s + "/", 0) == 0) skipped = true;
    }
    if (skipped) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    out[rel] = describe(it->path().string());
  }
  return out;
}

bool SupportsUserXattrs(const std::string& dir) {
  std::string probe = dir + "/.xattr-probe";
  WriteFileOrDie(probe, "");
  bool ok = ::setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
  ::unlink(probe.c_str());
  return ok;
}

std::string ReadFileOrDie(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    ADD_FAILURE() << "open " << path << ": " << std::strerror(errno);
    return "";
  }
  sys::UniqueFd owned(fd);
  return ReadAllFd(fd);
}

void WriteFileOrDie(const std::string& path, const std::string& data, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << "open " << path << ": " << std::strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

}  // namespace berth::archive::testing
