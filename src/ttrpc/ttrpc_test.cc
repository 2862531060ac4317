// Server and client over a real unix socket in a temp dir, with the loop on its own thread (as in
// berthd); raw sockets play a misbehaving peer.
#include <errno.h>
#include <fcntl.h>
#include <google/protobuf/wrappers.pb.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "sys/event_loop.h"
#include "ttrpc/channel.h"
#include "ttrpc/client.h"
#include "ttrpc/server.h"
#include "ttrpc/wire.h"

namespace berth::ttrpc {
namespace {

using google::protobuf::StringValue;

constexpr char kService[] = "berth.test.v1.Echo";

StringValue Str(const std::string& s) {
  StringValue v;
  v.set_value(s);
  return v;
}

std::string Serialized(const std::string& s) { return Str(s).SerializeAsString(); }

std::string Parsed(const std::string& payload) {
  StringValue v;
  EXPECT_TRUE(v.ParseFromString(payload));
  return v.value();
}

// Collects the result of an async Call.
class Result {
 public:
  std::function<void(absl::StatusOr<std::string>)> Callback() {
    return [this](absl::StatusOr<std::string> r) {
      absl::MutexLock lock(&mu_);
      EXPECT_FALSE(done_) << "done ran twice";
      result_ = std::move(r);
      done_ = true;
    };
  }
  absl::StatusOr<std::string> Wait() {
    absl::MutexLock lock(&mu_);
    EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Seconds(10)))
        << "call did not finish";
    return result_;
  }
  bool done() {
    absl::MutexLock lock(&mu_);
    return done_;
  }

 private:
  absl::Mutex mu_;
  bool done_ = false;
  absl::StatusOr<std::string> result_ = absl::UnknownError("unset");
};

class TtrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-ttrpc-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    socket_ = dir_ + "/ttrpc.sock";
    auto loop = sys::EventLoop::Create();
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(loop).value();
    server_ = std::make_unique<Server>(loop_.get());
    server_->Handle<StringValue>(kService, "Echo",
                                 [](const StringValue& req, std::shared_ptr<Call> call) {
                                   call->Reply(Str(req.value()));
                                 });
    server_->OnConnectionClosed([this] { ++server_closes_; });
    auto listener = ListenUnix(socket_);
    ASSERT_TRUE(listener.ok()) << listener.status();
    ASSERT_TRUE(server_->Serve(std::move(listener).value()).ok());
    thread_ = std::thread([this] { EXPECT_TRUE(loop_->Run().ok()); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      loop_->Stop();
      thread_.join();
    }
    server_.reset();
    clients_.clear();
    held_calls_.clear();
    loop_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Runs `fn` on the loop thread and waits for it.
  template <typename Fn>
  auto OnLoop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto future = task.get_future();
    loop_->Post([&task] { task(); });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }

  std::shared_ptr<Client> Connect() {
    auto client = Client::Connect(loop_.get(), "unix://" + socket_);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    clients_.push_back(*client);
    return *client;
  }

  // A handler that keeps its calls (on the loop) for the test to answer later.
  void RegisterHolding(const std::string& method) {
    server_->Register(kService, method, [this](std::shared_ptr<Call> call) {
      absl::MutexLock lock(&held_mu_);
      held_calls_.push_back(std::move(call));
    });
  }
  std::vector<std::shared_ptr<Call>> WaitHeld(size_t n) {
    absl::MutexLock lock(&held_mu_);
    auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(held_mu_) {
      return held_calls_.size() >= n;
    };
    EXPECT_TRUE(held_mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10)));
    return held_calls_;
  }

  // Waits until `pred` holds (checked on the loop thread).
  void Eventually(std::function<bool()> pred) {
    for (int i = 0; i < 1000; ++i) {
      if (OnLoop(pred)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "condition never held";
  }

  std::string dir_;
  std::string socket_;
  std::unique_ptr<sys::EventLoop> loop_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::vector<std::shared_ptr<Client>> clients_;
  std::atomic<int> server_closes_{0};
  absl::Mutex held_mu_;
  std::vector<std::shared_ptr<Call>> held_calls_ ABSL_GUARDED_BY(held_mu_);
};

TEST_F(TtrpcTest, CallSyncRoundTrip) {
  auto client = Connect();
  ASSERT_NE(client, nullptr);
  StringValue response;
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str("hello"), &response).ok());
  EXPECT_EQ(response.value(), "hello");
  // Empty payloads travel too (proto3 omits them on the wire).
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str(""), &response).ok());
  EXPECT_EQ(response.value(), "");
}

TEST_F(TtrpcTest, MetadataAndDeadlineReachTheHandler) {
  server_->Register(kService, "Meta", [](std::shared_ptr<Call> call) {
    std::vector<std::string> ks;
    for (const auto& [k, v] : call->metadata()) {
      if (k == "k") ks.push_back(v);
    }
    bool has_deadline = call->deadline() != absl::InfiniteFuture();
    call->Reply(Str(absl::StrCat(call->Metadata(kNamespaceKey), "|", absl::StrJoin(ks, ","), "|",
                                 call->Metadata("missing"), "|", call->service(), "/",
                                 call->method(), "|", has_deadline ? "true" : "false")));
  });
  auto client = Connect();
  CallOptions options;
  options.metadata.emplace(std::string(kNamespaceKey), "ns1");
  options.metadata.emplace("k", "a");
  options.metadata.emplace("k", "b");
  StringValue response;
  ASSERT_TRUE(client->CallSync(kService, "Meta", Str(""), &response, options).ok());
  EXPECT_EQ(response.value(), absl::StrCat("ns1|a,b||", kService, "/Meta|false"));
  options.timeout = absl::Seconds(30);
  ASSERT_TRUE(client->CallSync(kService, "Meta", Str(""), &response, options).ok());
  EXPECT_EQ(response.value(), absl::StrCat("ns1|a,b||", kService, "/Meta|true"));
}

TEST_F(TtrpcTest, ConcurrentCallsAnsweredOutOfOrder) {
  RegisterHolding("Hold");
  auto client = Connect();
  constexpr int kCalls = 5;
  Result results[kCalls];
  for (int i = 0; i < kCalls; ++i) {
    client->Call(kService, "Hold", Serialized(absl::StrCat("req", i)), {}, results[i].Callback());
  }
  auto calls = WaitHeld(kCalls);
  // Answer from the loop in reverse order, each with its own request.
  OnLoop([&] {
    for (int i = kCalls - 1; i >= 0; --i) {
      StringValue req;
      EXPECT_TRUE(req.ParseFromString(calls[i]->payload()));
      calls[i]->Reply(Str("re:" + req.value()));
    }
    return 0;
  });
  for (int i = 0; i < kCalls; ++i) {
    auto r = results[i].Wait();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(Parsed(*r), absl::StrCat("re:req", i));
  }
}

TEST_F(TtrpcTest, ManyThreadsCallOneClient) {
  auto client = Connect();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string want = absl::StrCat(t, "-", i);
        StringValue response;
        if (client->CallSync(kService, "Echo", Str(want), &response).ok() &&
            response.value() == want) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 200);
}

TEST_F(TtrpcTest, DeferredAnswerFromAnotherThread) {
  RegisterHolding("Wait");
  auto client = Connect();
  Result result;
  client->Call(kService, "Wait", Serialized("x"), {}, result.Callback());
  auto calls = WaitHeld(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(result.done());
  // Answered off the loop thread (posted), twice: only the first answer counts.
  calls[0]->Reply(Str("late"));
  calls[0]->ReplyError(absl::InternalError("ignored"));
  auto r = result.Wait();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Parsed(*r), "late");
  // The connection still works, so no stray second response confused the client.
  StringValue response;
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str("after"), &response).ok());
  EXPECT_EQ(response.value(), "after");
}

TEST_F(TtrpcTest, ErrorsKeepTheirCodeAndMessage) {
  server_->Register(kService, "Fail", [](std::shared_ptr<Call> call) {
    call->ReplyError(absl::NotFoundError("container \"x\": not found"));
  });
  auto client = Connect();
  StringValue response;
  absl::Status status = client->CallSync(kService, "Fail", Str(""), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "container \"x\": not found");
}

TEST_F(TtrpcTest, TypedHandlerRejectsUnparsablePayload) {
  auto client = Connect();
  Result result;
  client->Call(kService, "Echo", "\xff\xff\xff", {}, result.Callback());
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TtrpcTest, UnknownServiceOrMethodIsUnimplemented) {
  auto client = Connect();
  StringValue response;
  absl::Status status = client->CallSync("no.such.Service", "Echo", Str(""), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(), "service no.such.Service");
  status = client->CallSync(kService, "Nope", Str(""), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(status.message(), "method Nope");
}

TEST_F(TtrpcTest, ServerGoingAwayFailsPendingCallsAndRunsOnClose) {
  RegisterHolding("Hold");
  auto client = Connect();
  std::atomic<int> on_close{0};
  client->OnClose([&] { ++on_close; });
  Result result;
  client->Call(kService, "Hold", Serialized(""), {}, result.Callback());
  auto calls = WaitHeld(1);
  OnLoop([&] {
    server_.reset();
    return 0;
  });
  auto r = result.Wait();
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  Eventually([&] { return on_close.load() == 1; });
  EXPECT_TRUE(client->closed());
  // Answering a call whose connection is gone is a no-op.
  calls[0]->Reply(Str("nobody listens"));
  OnLoop([&] {
    calls[0]->Reply(Str("nobody listens"));
    return 0;
  });
  // New calls fail at once, and a late OnClose still runs.
  Result after;
  client->Call(kService, "Echo", Serialized(""), {}, after.Callback());
  EXPECT_EQ(after.Wait().status().code(), absl::StatusCode::kUnavailable);
  client->OnClose([&] { ++on_close; });
  Eventually([&] { return on_close.load() == 2; });
}

TEST_F(TtrpcTest, ClientCloseFailsPendingCallsAndServerNotices) {
  RegisterHolding("Hold");
  auto client = Connect();
  Eventually([&] { return server_->connections() == 1; });
  std::atomic<int> on_close{0};
  client->OnClose([&] { ++on_close; });
  Result result;
  client->Call(kService, "Hold", Serialized(""), {}, result.Callback());
  WaitHeld(1);
  client->Close();
  EXPECT_TRUE(client->closed());
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kUnavailable);
  Eventually([&] { return on_close.load() == 1; });
  Eventually([&] { return server_->connections() == 0; });
  EXPECT_EQ(server_closes_.load(), 1);
  client->Close();  // again: harmless
  StringValue response;
  EXPECT_EQ(client->CallSync(kService, "Echo", Str(""), &response).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(TtrpcTest, DroppingTheClientFailsPendingCalls) {
  RegisterHolding("Hold");
  Result result;
  {
    auto client = Client::Connect(loop_.get(), socket_);
    ASSERT_TRUE(client.ok());
    (*client)->Call(kService, "Hold", Serialized(""), {}, result.Callback());
    WaitHeld(1);
  }
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kUnavailable);
  Eventually([&] { return server_->connections() == 0; });
}

TEST_F(TtrpcTest, TimeoutIsDeadlineExceeded) {
  RegisterHolding("Hold");
  auto client = Connect();
  CallOptions options;
  options.timeout = absl::Milliseconds(100);
  auto start = absl::Now();
  StringValue response;
  absl::Status status = client->CallSync(kService, "Hold", Str(""), &response, options);
  EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(100));
  auto calls = WaitHeld(1);
  // The server saw the client's deadline (timeout_nano).
  EXPECT_LE(calls[0]->deadline(), start + absl::Milliseconds(600));
  EXPECT_GT(calls[0]->deadline(), start);
  // A late answer is dropped by the client; the connection keeps working.
  calls[0]->Reply(Str("too late"));
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str("next"), &response).ok());
  EXPECT_EQ(response.value(), "next");
}

TEST_F(TtrpcTest, LargeMessagesUpToTheLimit) {
  auto client = Connect();
  // A payload near 4 MiB crosses many partial reads and writes (EPOLLOUT) both ways.
  std::string big(kMaxMessageSize - 64, 'b');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  StringValue response;
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str(big), &response).ok());
  EXPECT_TRUE(response.value() == big);
}

TEST_F(TtrpcTest, OversizedRequestIsRefusedBySender) {
  auto client = Connect();
  StringValue response;
  absl::Status status =
      client->CallSync(kService, "Echo", Str(std::string(kMaxMessageSize, 'x')), &response);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str("small"), &response).ok());
  EXPECT_EQ(response.value(), "small");
}

TEST_F(TtrpcTest, OversizedResponseBecomesResourceExhausted) {
  server_->Register(kService, "Big", [](std::shared_ptr<Call> call) {
    call->Reply(Str(std::string(kMaxMessageSize + 1, 'x')));
  });
  auto client = Connect();
  StringValue response;
  EXPECT_EQ(client->CallSync(kService, "Big", Str(""), &response).code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(client->CallSync(kService, "Echo", Str("ok"), &response).ok());
}

TEST_F(TtrpcTest, CallSyncOnTheLoopThreadFails) {
  auto client = Connect();
  absl::Status status = OnLoop([&] {
    StringValue response;
    return client->CallSync(kService, "Echo", Str(""), &response);
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TtrpcTest, ConnectErrors) {
  auto missing = Client::Connect(loop_.get(), dir_ + "/missing.sock");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  // A socket file nobody listens on.
  std::string dead = dir_ + "/dead.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, dead.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  close(fd);
  auto refused = Client::Connect(loop_.get(), dead);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  auto too_long = Client::Connect(loop_.get(), "/" + std::string(200, 'x'));
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TtrpcTest, ListenUnixReplacesAStaleSocketOnly) {
  // The fixture's socket exists; listening again on the path replaces it.
  auto again = ListenUnix(socket_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE(fcntl(again->get(), F_GETFD) & FD_CLOEXEC, 0);
  std::string file = dir_ + "/regular";
  close(open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  EXPECT_FALSE(ListenUnix(file).ok());
  struct stat st;
  EXPECT_EQ(stat(file.c_str(), &st), 0) << "a regular file is not removed";
}

TEST_F(TtrpcTest, AbstractSocket) {
  std::string name = absl::StrCat("@berth-ttrpc-test-", getpid());
  auto listener = ListenUnix(name);
  ASSERT_TRUE(listener.ok()) << listener.status();
  ASSERT_TRUE(OnLoop([&] { return server_->Serve(std::move(listener).value()); }).ok());
  auto client = Client::Connect(loop_.get(), name);
  ASSERT_TRUE(client.ok()) << client.status();
  StringValue response;
  ASSERT_TRUE((*client)->CallSync(kService, "Echo", Str("abstract"), &response).ok());
  EXPECT_EQ(response.value(), "abstract");
}

// --- raw peers -------------------------------------------------------------------------------

// A blocking raw connection speaking frames by hand.
class RawConn {
 public:
  explicit RawConn(int fd) : fd_(fd) {}
  ~RawConn() {
    if (fd_ >= 0) close(fd_);
  }
  static std::unique_ptr<RawConn> Dial(const std::string& path) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return std::make_unique<RawConn>(fd);
  }
  int fd() const { return fd_; }
  void Write(const std::string& data) {
    ASSERT_EQ(send(fd_, data.data(), data.size(), MSG_NOSIGNAL), static_cast<ssize_t>(data.size()));
  }
  void WriteFrame(uint32_t stream, uint8_t type, const std::string& payload,
                  uint32_t length_override = 0) {
    FrameHeader h;
    h.length = length_override ? length_override : static_cast<uint32_t>(payload.size());
    h.stream_id = stream;
    h.type = type;
    char buf[kFrameHeaderSize];
    EncodeFrameHeader(h, buf);
    Write(std::string(buf, sizeof(buf)) + payload);
  }
  // Reads one frame; false on EOF/timeout.
  bool ReadFrame(FrameHeader* header, std::string* payload) {
    std::string h;
    if (!ReadExactly(kFrameHeaderSize, &h)) return false;
    *header = DecodeFrameHeader(h.data());
    return ReadExactly(header->length, payload);
  }
  // True when the peer closed the connection (EOF) within the receive timeout.
  bool AtEof() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  bool ReadExactly(size_t n, std::string* out) {
    out->assign(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = recv(fd_, &(*out)[got], n - got, 0);
      if (r <= 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  }
  int fd_;
};

std::string EncodedRequest(const std::string& service, const std::string& method,
                           const std::string& payload) {
  Request request;
  request.service = service;
  request.method = method;
  request.payload = payload;
  std::string out;
  EncodeRequest(request, &out);
  return out;
}

absl::Status ResponseStatus(const std::string& payload) {
  auto response = DecodeResponse(payload);
  EXPECT_TRUE(response.ok()) << response.status();
  return response.ok() ? response->status : response.status();
}

// A client that sends requests but never reads the answers cannot make the server queue without
// bound: past Channel::kMaxPendingWriteBytes the server drops that connection, and keeps serving.
TEST_F(TtrpcTest, ServerDropsAPeerThatStopsReading) {
  auto raw = RawConn::Dial(socket_);
  StringValue big;
  big.set_value(std::string(1 << 20, 'x'));
  const std::string payload = EncodedRequest(kService, "Echo", big.SerializeAsString());
  FrameHeader h;
  h.length = static_cast<uint32_t>(payload.size());
  h.type = static_cast<uint8_t>(MessageType::kRequest);
  const size_t answers = Channel::kMaxPendingWriteBytes / (1 << 20) + 16;
  for (size_t i = 0; i < answers; ++i) {
    h.stream_id = static_cast<uint32_t>(2 * i + 1);
    char buf[kFrameHeaderSize];
    EncodeFrameHeader(h, buf);
    std::string frame = std::string(buf, sizeof(buf)) + payload;
    if (send(raw->fd(), frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) {
      break;  // the server has already given up on us
    }
  }
  // Now read: what the socket held, then EOF, well before every answer arrived.
  size_t frames = 0;
  FrameHeader got;
  std::string body;
  while (raw->ReadFrame(&got, &body)) ++frames;
  EXPECT_LT(frames, answers) << "every answer was queued: nothing bounds the write buffer";

  auto client = Client::Connect(loop_.get(), socket_);
  ASSERT_TRUE(client.ok()) << client.status();
  StringValue response;
  ASSERT_TRUE((*client)->CallSync(kService, "Echo", Str("still serving"), &response).ok());
  EXPECT_EQ(response.value(), "still serving");
}

TEST_F(TtrpcTest, ServerDiscardsOversizedFrameAndKeepsServing) {
  auto raw = RawConn::Dial(socket_);
  uint32_t big = kMaxMessageSize + 1000;
  raw->WriteFrame(1, 1, "", big);
  raw->Write(std::string(big, 'z'));
  raw->WriteFrame(3, 1, EncodedRequest(kService, "Echo", Serialized("fine")));
  FrameHeader h;
  std::string payload;
  ASSERT_TRUE(raw->ReadFrame(&h, &payload));
  EXPECT_EQ(h.stream_id, 1u);
  EXPECT_EQ(h.type, 2);
  EXPECT_EQ(ResponseStatus(payload).code(), absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(raw->ReadFrame(&h, &payload));
  EXPECT_EQ(h.stream_id, 3u);
  auto response = DecodeResponse(payload);
  ASSERT_TRUE(response.ok());
  EXPECT_TRUE(response->status.ok());
  EXPECT_EQ(Parsed(response->payload), "fine");
}

TEST_F(TtrpcTest, ServerAnswersMalformedRequestsAndIgnoresOtherTypes) {
  auto raw = RawConn::Dial(socket_);
  raw->WriteFrame(1, 1, "\x0a\x7f");                          // length past the end
  raw->WriteFrame(2, 1, EncodedRequest(kService, "Echo", ""));  // even stream id
  raw->WriteFrame(5, 7, "whatever");                           // unknown type: ignored
  raw->WriteFrame(7, 1, EncodedRequest(kService, "Echo", Serialized("still here")));
  FrameHeader h;
  std::string payload;
  ASSERT_TRUE(raw->ReadFrame(&h, &payload));
  EXPECT_EQ(h.stream_id, 1u);
  EXPECT_EQ(ResponseStatus(payload).code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(raw->ReadFrame(&h, &payload));
  EXPECT_EQ(h.stream_id, 2u);
  absl::Status status = ResponseStatus(payload);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "StreamID must be odd for client initiated streams");
  ASSERT_TRUE(raw->ReadFrame(&h, &payload));
  EXPECT_EQ(h.stream_id, 7u);
  EXPECT_EQ(Parsed(DecodeResponse(payload)->payload), "still here");
}

TEST_F(TtrpcTest, TruncatedFrameThenHangupClosesTheConnection) {
  auto raw = RawConn::Dial(socket_);
  Eventually([&] { return server_->connections() == 1; });
  raw->WriteFrame(1, 1, "abc", 100);  // promises 100 bytes, sends 3
  shutdown(raw->fd(), SHUT_WR);
  Eventually([&] { return server_->connections() == 0; });
  EXPECT_TRUE(raw->AtEof());
  EXPECT_EQ(server_closes_.load(), 1);
}

// A raw server: the test thread accepts one connection and answers by hand.
class RawServerTest : public TtrpcTest {
 protected:
  void SetUp() override {
    TtrpcTest::SetUp();
    raw_path_ = dir_ + "/raw.sock";
    auto listener = ListenUnix(raw_path_);
    ASSERT_TRUE(listener.ok());
    listener_ = std::move(listener).value();
  }
  std::unique_ptr<RawConn> Accept() {
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    EXPECT_GE(fd, 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return std::make_unique<RawConn>(fd);
  }
  std::string raw_path_;
  sys::UniqueFd listener_;
};

TEST_F(RawServerTest, ClientUsesOddStreamIdsAndSendsTheRequestFields) {
  auto client = Client::Connect(loop_.get(), raw_path_);
  ASSERT_TRUE(client.ok());
  auto conn = Accept();
  CallOptions options;
  options.timeout = absl::Seconds(5);
  options.metadata.emplace(std::string(kNamespaceKey), "default");
  Result first, second;
  (*client)->Call("svc", "A", "p1", options, first.Callback());
  (*client)->Call("svc", "B", "p2", {}, second.Callback());
  FrameHeader h1, h2;
  std::string p1, p2;
  ASSERT_TRUE(conn->ReadFrame(&h1, &p1));
  ASSERT_TRUE(conn->ReadFrame(&h2, &p2));
  EXPECT_EQ(h1.stream_id, 1u);
  EXPECT_EQ(h2.stream_id, 3u);
  EXPECT_EQ(h1.type, 1);
  EXPECT_EQ(h1.flags, 0);
  auto r1 = DecodeRequest(p1);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->service, "svc");
  EXPECT_EQ(r1->method, "A");
  EXPECT_EQ(r1->payload, "p1");
  EXPECT_GT(r1->timeout_nano, 4'000'000'000);
  EXPECT_LE(r1->timeout_nano, 5'000'000'000);
  EXPECT_EQ(r1->metadata.find(std::string(kNamespaceKey))->second, "default");
  EXPECT_EQ(DecodeRequest(p2)->timeout_nano, 0);
  // Answer the second first; an unknown stream id is ignored.
  std::string out;
  EncodeResponse(absl::OkStatus(), "two", &out);
  conn->WriteFrame(3, 2, out);
  conn->WriteFrame(99, 2, out);
  out.clear();
  EncodeResponse(absl::AlreadyExistsError("exists"), "", &out);
  conn->WriteFrame(1, 2, out);
  auto r2 = second.Wait();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, "two");
  EXPECT_EQ(first.Wait().status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(RawServerTest, ClientSurvivesOversizedAndMalformedResponses) {
  auto client = Client::Connect(loop_.get(), raw_path_);
  ASSERT_TRUE(client.ok());
  auto conn = Accept();
  Result big, bad, good;
  (*client)->Call("svc", "Big", "", {}, big.Callback());
  (*client)->Call("svc", "Bad", "", {}, bad.Callback());
  (*client)->Call("svc", "Good", "", {}, good.Callback());
  FrameHeader h;
  std::string p;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(conn->ReadFrame(&h, &p));
  uint32_t size = kMaxMessageSize + 1;
  conn->WriteFrame(1, 2, "", size);
  conn->Write(std::string(size, 'q'));
  conn->WriteFrame(3, 2, "\x0a\x7f");
  std::string out;
  EncodeResponse(absl::OkStatus(), "good", &out);
  conn->WriteFrame(5, 2, out);
  EXPECT_EQ(big.Wait().status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(bad.Wait().ok());
  auto r = good.Wait();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "good");
  EXPECT_FALSE((*client)->closed());
}

TEST_F(RawServerTest, PeerHangupFailsPendingCalls) {
  auto client = Client::Connect(loop_.get(), raw_path_);
  ASSERT_TRUE(client.ok());
  auto conn = Accept();
  std::atomic<bool> closed{false};
  (*client)->OnClose([&] { closed = true; });
  Result result;
  (*client)->Call("svc", "M", "", {}, result.Callback());
  FrameHeader h;
  std::string p;
  ASSERT_TRUE(conn->ReadFrame(&h, &p));
  // Half a response, then gone.
  conn->WriteFrame(1, 2, "ab", 50);
  conn.reset();
  EXPECT_EQ(result.Wait().status().code(), absl::StatusCode::kUnavailable);
  Eventually([&] { return closed.load(); });
}

}  // namespace
}  // namespace berth::ttrpc
