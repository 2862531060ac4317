#include "shim/copier.h"

#include <fcntl.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "sys/file.h"

namespace berth::shim {
namespace {

struct Pipe {
  sys::UniqueFd r, w;
};

Pipe MakePipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

std::string ReadToEof(int fd) {
  std::string out;
  char buf[8192];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  return out;
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 13) % 26);
  return s;
}

class CopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = sys::EventLoop::Create();
    ASSERT_TRUE(loop.ok());
    loop_ = *std::move(loop);
  }
  std::unique_ptr<Copier> StartCopy(sys::UniqueFd src, sys::UniqueFd dst) {
    auto c = Copier::Start(loop_.get(), std::move(src), std::move(dst), "test",
                           [this]() { loop_->Stop(); });
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  void Run() {
    // A watchdog: a hung copy fails the test instead of hanging it.
    loop_->After(absl::Seconds(20), [this]() {
      ADD_FAILURE() << "copy did not finish";
      loop_->Stop();
    });
    ASSERT_TRUE(loop_->Run().ok());
  }
  std::unique_ptr<sys::EventLoop> loop_;
};

TEST_F(CopierTest, PipeToPipeEndsWithEof) {
  Pipe src = MakePipe();
  Pipe dst = MakePipe();
  ASSERT_EQ(::write(src.w.get(), "hello", 5), 5);
  src.w.reset();
  auto copier = StartCopy(std::move(src.r), std::move(dst.w));
  Run();
  EXPECT_TRUE(copier->done());
  EXPECT_EQ(ReadToEof(dst.r.get()), "hello");  // EOF: the copier closed its end
}

TEST_F(CopierTest, SlowReaderGetsEverythingThroughBackpressure) {
  const std::string data = Pattern(1 << 20);  // 16 pipe buffers
  Pipe src = MakePipe();
  Pipe dst = MakePipe();
  std::thread writer([&data, w = std::move(src.w)]() mutable {
    size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(w.get(), data.data() + off, std::min<size_t>(data.size() - off, 70000));
      if (n <= 0) break;
      off += n;
    }
  });
  std::string got;
  std::thread reader([&got, r = std::move(dst.r)]() mutable {
    char buf[3000];
    ssize_t n;
    while ((n = ::read(r.get(), buf, sizeof(buf))) > 0) {
      got.append(buf, n);
      if (got.size() % 9000 == 0) ::usleep(100);
    }
  });
  auto copier = StartCopy(std::move(src.r), std::move(dst.w));
  Run();
  writer.join();
  reader.join();
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

TEST_F(CopierTest, PtyMasterThroughTheBuffer) {
  // A pty cannot always be spliced: this exercises the buffered path and EIO as end of stream.
  sys::UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  sys::UniqueFd slave(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave.valid());
  termios t;
  ASSERT_EQ(::tcgetattr(slave.get(), &t), 0);
  ::cfmakeraw(&t);
  ASSERT_EQ(::tcsetattr(slave.get(), TCSANOW, &t), 0);
  ASSERT_EQ(::write(slave.get(), "from the terminal\n", 18), 18);
  slave.reset();
  Pipe dst = MakePipe();
  auto copier = StartCopy(std::move(master), std::move(dst.w));
  Run();
  EXPECT_EQ(ReadToEof(dst.r.get()), "from the terminal\n");
}

TEST_F(CopierTest, RegularFileDestination) {
  char templ[] = "/tmp/shim-copier-XXXXXX";
  int fd = ::mkstemp(templ);
  ASSERT_GE(fd, 0);
  sys::UniqueFd file(fd);
  Pipe src = MakePipe();
  ASSERT_EQ(::write(src.w.get(), "line\n", 5), 5);
  src.w.reset();
  auto copier = StartCopy(std::move(src.r), std::move(file));
  Run();
  EXPECT_EQ(*sys::ReadFile(templ), "line\n");
  ::unlink(templ);
}

TEST_F(CopierTest, DestroyingStopsWithoutCallback) {
  Pipe src = MakePipe();
  Pipe dst = MakePipe();
  bool called = false;
  auto c = Copier::Start(loop_.get(), std::move(src.r), std::move(dst.w), "test",
                         [&called]() { called = true; });
  ASSERT_TRUE(c.ok());
  c->reset();
  loop_->After(absl::Milliseconds(50), [this]() { loop_->Stop(); });
  ASSERT_TRUE(loop_->Run().ok());
  EXPECT_FALSE(called);
  EXPECT_EQ(ReadToEof(dst.r.get()), "");  // closed by the destructor
}

}  // namespace
}  // namespace berth::shim
