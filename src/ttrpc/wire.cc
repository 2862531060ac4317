#include "ttrpc/wire.h"

#include "absl/strings/str_cat.h"

namespace berth::ttrpc {
namespace {

enum WireType : int { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void AppendVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

size_t VarintSize(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

void AppendTag(int field, WireType type, std::string* out) {
  AppendVarint((static_cast<uint64_t>(field) << 3) | type, out);
}

// proto3: empty strings are not sent.
void AppendBytesField(int field, absl::string_view value, std::string* out) {
  if (value.empty()) return;
  AppendTag(field, kLengthDelimited, out);
  AppendVarint(value.size(), out);
  out->append(value.data(), value.size());
}

// Signed integers travel as the two's complement varint of their 64-bit value.
void AppendIntField(int field, int64_t value, std::string* out) {
  if (value == 0) return;
  AppendTag(field, kVarint, out);
  AppendVarint(static_cast<uint64_t>(value), out);
}

size_t BytesFieldSize(absl::string_view value) {
  return value.empty() ? 0 : 1 + VarintSize(value.size()) + value.size();
}

size_t IntFieldSize(int64_t value) {
  return value == 0 ? 0 : 1 + VarintSize(static_cast<uint64_t>(value));
}

// Reads one protobuf message's fields.
class Reader {
 public:
  explicit Reader(absl::string_view data) : data_(data) {}

  bool done() const { return pos_ == data_.size(); }

  bool ReadVarint(uint64_t* value) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ == data_.size()) return false;
      uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *value = result;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }

  bool ReadTag(int* field, int* type) {
    uint64_t tag;
    if (!ReadVarint(&tag)) return false;
    *field = static_cast<int>(tag >> 3);
    *type = static_cast<int>(tag & 7);
    return (tag >> 3) != 0 && (tag >> 3) <= 0x1fffffff;
  }

  bool ReadBytes(absl::string_view* value) {
    uint64_t size;
    if (!ReadVarint(&size) || size > data_.size() - pos_) return false;
    *value = data_.substr(pos_, size);
    pos_ += size;
    return true;
  }

  // Skips a field this decoder does not know (forward compatibility).
  bool Skip(int type) {
    uint64_t ignored;
    absl::string_view bytes;
    switch (type) {
      case kVarint:
        return ReadVarint(&ignored);
      case kFixed64:
        return Advance(8);
      case kLengthDelimited:
        return ReadBytes(&bytes);
      case kFixed32:
        return Advance(4);
      default:  // groups (3, 4) are not used by these messages
        return false;
    }
  }

 private:
  bool Advance(size_t n) {
    if (n > data_.size() - pos_) return false;
    pos_ += n;
    return true;
  }

  absl::string_view data_;
  size_t pos_ = 0;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("ttrpc: malformed ", what));
}

bool DecodeKeyValue(absl::string_view data, std::string* key, std::string* value) {
  Reader r(data);
  while (!r.done()) {
    int field, type;
    if (!r.ReadTag(&field, &type)) return false;
    absl::string_view bytes;
    if ((field == 1 || field == 2) && type == kLengthDelimited) {
      if (!r.ReadBytes(&bytes)) return false;
      (field == 1 ? key : value)->assign(bytes.data(), bytes.size());
    } else if (!r.Skip(type)) {
      return false;
    }
  }
  return true;
}

// Merges a google.rpc.Status into code/message (a repeated embedded message merges).
bool DecodeStatus(absl::string_view data, int32_t* code, std::string* message) {
  Reader r(data);
  while (!r.done()) {
    int field, type;
    if (!r.ReadTag(&field, &type)) return false;
    if (field == 1 && type == kVarint) {
      uint64_t value;
      if (!r.ReadVarint(&value)) return false;
      *code = static_cast<int32_t>(value);
    } else if (field == 2 && type == kLengthDelimited) {
      absl::string_view bytes;
      if (!r.ReadBytes(&bytes)) return false;
      message->assign(bytes.data(), bytes.size());
    } else if (!r.Skip(type)) {  // 3: details (Any), dropped
      return false;
    }
  }
  return true;
}

bool IsGrpcCode(int32_t code) { return code >= 0 && code <= 16; }

}  // namespace

void EncodeFrameHeader(const FrameHeader& header, char* out) {
  auto put32 = [](uint32_t v, char* p) {
    p[0] = static_cast<char>(v >> 24);
    p[1] = static_cast<char>(v >> 16);
    p[2] = static_cast<char>(v >> 8);
    p[3] = static_cast<char>(v);
  };
  put32(header.length, out);
  put32(header.stream_id, out + 4);
  out[8] = static_cast<char>(header.type);
  out[9] = static_cast<char>(header.flags);
}

FrameHeader DecodeFrameHeader(const char* in) {
  auto get32 = [](const char* p) {
    const auto* u = reinterpret_cast<const uint8_t*>(p);
    return (static_cast<uint32_t>(u[0]) << 24) | (static_cast<uint32_t>(u[1]) << 16) |
           (static_cast<uint32_t>(u[2]) << 8) | static_cast<uint32_t>(u[3]);
  };
  FrameHeader header;
  header.length = get32(in);
  header.stream_id = get32(in + 4);
  header.type = static_cast<uint8_t>(in[8]);
  header.flags = static_cast<uint8_t>(in[9]);
  return header;
}

void EncodeRequest(const Request& request, std::string* out) {
  AppendBytesField(1, request.service, out);
  AppendBytesField(2, request.method, out);
  AppendBytesField(3, request.payload, out);
  AppendIntField(4, request.timeout_nano, out);
  for (const auto& [key, value] : request.metadata) {
    // An empty KeyValue is still sent: the repeated field's element is present.
    AppendTag(5, kLengthDelimited, out);
    AppendVarint(BytesFieldSize(key) + BytesFieldSize(value), out);
    AppendBytesField(1, key, out);
    AppendBytesField(2, value, out);
  }
}

absl::StatusOr<Request> DecodeRequest(absl::string_view data) {
  Request request;
  Reader r(data);
  while (!r.done()) {
    int field, type;
    if (!r.ReadTag(&field, &type)) return Malformed("request");
    absl::string_view bytes;
    uint64_t value;
    if (field >= 1 && field <= 3 && type == kLengthDelimited) {
      if (!r.ReadBytes(&bytes)) return Malformed("request");
      std::string* target = field == 1   ? &request.service
                            : field == 2 ? &request.method
                                         : &request.payload;
      target->assign(bytes.data(), bytes.size());
    } else if (field == 4 && type == kVarint) {
      if (!r.ReadVarint(&value)) return Malformed("request");
      request.timeout_nano = static_cast<int64_t>(value);
    } else if (field == 5 && type == kLengthDelimited) {
      std::string key, val;
      if (!r.ReadBytes(&bytes) || !DecodeKeyValue(bytes, &key, &val)) {
        return Malformed("request metadata");
      }
      request.metadata.emplace(std::move(key), std::move(val));
    } else if (!r.Skip(type)) {
      return Malformed("request");
    }
  }
  return request;
}

void EncodeResponse(const absl::Status& status, absl::string_view payload, std::string* out) {
  if (!status.ok()) {
    int32_t code = static_cast<int32_t>(status.code());
    if (!IsGrpcCode(code)) code = static_cast<int32_t>(absl::StatusCode::kUnknown);
    AppendTag(1, kLengthDelimited, out);
    AppendVarint(IntFieldSize(code) + BytesFieldSize(status.message()), out);
    AppendIntField(1, code, out);
    AppendBytesField(2, status.message(), out);
  }
  AppendBytesField(2, payload, out);
}

absl::StatusOr<Response> DecodeResponse(absl::string_view data) {
  Response response;
  int32_t code = 0;
  std::string message;
  Reader r(data);
  while (!r.done()) {
    int field, type;
    if (!r.ReadTag(&field, &type)) return Malformed("response");
    absl::string_view bytes;
    if (field == 1 && type == kLengthDelimited) {
      if (!r.ReadBytes(&bytes) || !DecodeStatus(bytes, &code, &message)) {
        return Malformed("response status");
      }
    } else if (field == 2 && type == kLengthDelimited) {
      if (!r.ReadBytes(&bytes)) return Malformed("response");
      response.payload.assign(bytes.data(), bytes.size());
    } else if (!r.Skip(type)) {
      return Malformed("response");
    }
  }
  if (code != 0) {
    if (!IsGrpcCode(code)) code = static_cast<int32_t>(absl::StatusCode::kUnknown);
    response.status = absl::Status(static_cast<absl::StatusCode>(code), message);
  }
  return response;
}

}  // namespace berth::ttrpc
