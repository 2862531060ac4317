// ttrpc's wire format (containerd ttrpc 1.1): the 10-byte frame header and the Request and
// Response messages, encoded by hand (protobuf varint / length-delimited fields, proto3 rules:
// zero and empty fields are omitted) so the library needs no generated code.
//
//   frame    = length:u32be stream_id:u32be type:u8 flags:u8 payload[length]
//   Request  = {1: string service, 2: string method, 3: bytes payload, 4: int64 timeout_nano,
//               5: repeated KeyValue metadata}      KeyValue = {1: string key, 2: string value}
//   Response = {1: google.rpc.Status status, 2: bytes payload}
//   google.rpc.Status = {1: int32 code, 2: string message, 3: repeated Any details}
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::ttrpc {

inline constexpr size_t kFrameHeaderSize = 10;
// The largest payload a frame may carry (ttrpc's messageLengthMax).
inline constexpr uint32_t kMaxMessageSize = 4 << 20;

enum class MessageType : uint8_t { kRequest = 1, kResponse = 2 };

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

// Writes `header` into out[0..kFrameHeaderSize).
void EncodeFrameHeader(const FrameHeader& header, char* out);
// Reads a header from in[0..kFrameHeaderSize).
FrameHeader DecodeFrameHeader(const char* in);

struct Request {
  std::string service;
  std::string method;
  std::string payload;
  int64_t timeout_nano = 0;  // 0: no deadline
  std::multimap<std::string, std::string> metadata;
};

// Appends the encoded `request` to `out`.
void EncodeRequest(const Request& request, std::string* out);
// InvalidArgument when `data` is not a well-formed Request.
absl::StatusOr<Request> DecodeRequest(absl::string_view data);

struct Response {
  absl::Status status;  // the google.rpc.Status; OK when absent (details are dropped)
  std::string payload;
};

// Appends the encoded response to `out`. An OK status is omitted, as ttrpc's Go server does;
// codes outside gRPC's range are sent as Unknown.
void EncodeResponse(const absl::Status& status, absl::string_view payload, std::string* out);
// InvalidArgument when `data` is not a well-formed Response.
absl::StatusOr<Response> DecodeResponse(absl::string_view data);

}  // namespace berth::ttrpc
