#include "ttrpc/wire.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::ttrpc {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

TEST(WireTest, FrameHeaderIsBigEndian) {
  FrameHeader header;
  header.length = 0x01020304;
  header.stream_id = 0xa0b0c0d0;
  header.type = 2;
  char buf[kFrameHeaderSize];
  EncodeFrameHeader(header, buf);
  EXPECT_EQ(std::string(buf, sizeof(buf)),
            Bytes({0x01, 0x02, 0x03, 0x04, 0xa0, 0xb0, 0xc0, 0xd0, 0x02, 0x00}));
  FrameHeader back = DecodeFrameHeader(buf);
  EXPECT_EQ(back.length, header.length);
  EXPECT_EQ(back.stream_id, header.stream_id);
  EXPECT_EQ(back.type, 2);
  EXPECT_EQ(back.flags, 0);
}

TEST(WireTest, RequestEncodingMatchesProtobuf) {
  Request request;
  request.service = "s";
  request.method = "m";
  request.payload = "p";
  request.timeout_nano = 300;
  request.metadata.emplace("k", "v");
  std::string out;
  EncodeRequest(request, &out);
  EXPECT_EQ(out, Bytes({0x0a, 0x01, 's', 0x12, 0x01, 'm', 0x1a, 0x01, 'p', 0x20, 0xac, 0x02,
                        0x2a, 0x06, 0x0a, 0x01, 'k', 0x12, 0x01, 'v'}));
}

TEST(WireTest, RequestRoundTrip) {
  Request request;
  request.service = "containerd.task.v2.Task";
  request.method = "Create";
  request.payload = std::string("\0\x01\xff payload", 11);
  request.timeout_nano = -5;  // negative int64: a 10-byte varint
  request.metadata.emplace("containerd-namespace-ttrpc", "default");
  request.metadata.emplace("k", "a");
  request.metadata.emplace("k", "b");
  request.metadata.emplace("", "");
  std::string out;
  EncodeRequest(request, &out);
  auto back = DecodeRequest(out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->service, request.service);
  EXPECT_EQ(back->method, request.method);
  EXPECT_EQ(back->payload, request.payload);
  EXPECT_EQ(back->timeout_nano, -5);
  EXPECT_EQ(back->metadata, request.metadata);
}

TEST(WireTest, EmptyRequestIsEmpty) {
  std::string out;
  EncodeRequest(Request{}, &out);
  EXPECT_EQ(out, "");
  auto back = DecodeRequest("");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->service, "");
  EXPECT_EQ(back->timeout_nano, 0);
}

TEST(WireTest, UnknownFieldsAreSkipped) {
  std::string data = Bytes({
      0x78, 0x05,                                            // field 15 varint
      0x79, 1, 2, 3, 4, 5, 6, 7, 8,                          // field 15 fixed64
      0x7d, 1, 2, 3, 4,                                      // field 15 fixed32
      0x7a, 0x02, 'z', 'z',                                  // field 15 bytes
      0x08, 0x01,                                            // field 1 as varint: wrong type
      0x0a, 0x01, 's',                                       // service
  });
  auto back = DecodeRequest(data);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->service, "s");
}

TEST(WireTest, MalformedRequestsAreInvalidArgument) {
  for (const std::string& data : {
           Bytes({0x0a}),                    // tag without length
           Bytes({0x0a, 0x05, 's'}),         // length past the end
           Bytes({0x20, 0x80}),              // truncated varint
           Bytes({0x0b}),                    // group start
           Bytes({0x00, 0x00}),              // field number 0
           Bytes({0x2a, 0x02, 0x0a, 0x05}),  // metadata with a bad KeyValue
           Bytes({0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}),
       }) {
    auto back = DecodeRequest(data);
    EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument) << testing::PrintToString(data);
  }
}

TEST(WireTest, ResponseEncoding) {
  std::string ok;
  EncodeResponse(absl::OkStatus(), "xy", &ok);
  EXPECT_EQ(ok, Bytes({0x12, 0x02, 'x', 'y'})) << "an OK status is omitted";

  std::string err;
  EncodeResponse(absl::NotFoundError("m"), "", &err);
  EXPECT_EQ(err, Bytes({0x0a, 0x05, 0x08, 0x05, 0x12, 0x01, 'm'}));

  std::string empty;
  EncodeResponse(absl::OkStatus(), "", &empty);
  EXPECT_EQ(empty, "");
}

TEST(WireTest, ResponseRoundTrip) {
  std::string out;
  EncodeResponse(absl::FailedPreconditionError("task is not running"), "", &out);
  auto back = DecodeResponse(out);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(back->status.message(), "task is not running");

  out.clear();
  EncodeResponse(absl::OkStatus(), std::string(1000, 'a'), &out);
  back = DecodeResponse(out);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->status.ok());
  EXPECT_EQ(back->payload, std::string(1000, 'a'));
}

TEST(WireTest, ResponseStatusDetailsAreDropped) {
  // Status {code: 3, message: "bad", details: [Any{type_url: "t", value: "v"}]}, then payload.
  std::string status = Bytes({0x08, 0x03, 0x12, 0x03, 'b', 'a', 'd', 0x1a, 0x06, 0x0a, 0x01, 't',
                              0x12, 0x01, 'v'});
  std::string data = Bytes({0x0a, static_cast<int>(status.size())}) + status +
                     Bytes({0x12, 0x01, 'p'});
  auto back = DecodeResponse(data);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(back->status.message(), "bad");
  EXPECT_EQ(back->payload, "p");
}

TEST(WireTest, StatusCodesOutsideGrpcAreUnknown) {
  std::string out;
  EncodeResponse(absl::Status(static_cast<absl::StatusCode>(99), "odd"), "", &out);
  auto back = DecodeResponse(out);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status.code(), absl::StatusCode::kUnknown);
  // A zero code with a message is OK, as in gRPC.
  back = DecodeResponse(Bytes({0x0a, 0x03, 0x12, 0x01, 'x'}));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->status.ok());
  // A negative code from a peer.
  back = DecodeResponse(Bytes({0x0a, 0x0b, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                               0xff, 0x01}));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status.code(), absl::StatusCode::kUnknown);
}

TEST(WireTest, MalformedResponsesAreInvalidArgument) {
  EXPECT_EQ(DecodeResponse(Bytes({0x0a, 0x02, 0x08})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeResponse(Bytes({0x12, 0x09, 'x'})).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::ttrpc
