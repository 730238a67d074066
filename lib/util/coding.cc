// Encoding helpers; see coding.h for the formats.
#include "lib/util/coding.h"

#include <cstring>

namespace kdi {

void EncodeFixed16(char* buf, uint16_t v) {
  buf[0] = static_cast<char>(v >> 8);
  buf[1] = static_cast<char>(v);
}

void EncodeFixed32(char* buf, uint32_t v) {
  for (int i = 3; i >= 0; --i) {
    buf[i] = static_cast<char>(v);
    v >>= 8;
  }
}

void EncodeFixed64(char* buf, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    buf[i] = static_cast<char>(v);
    v >>= 8;
  }
}

uint16_t DecodeFixed16(const char* buf) {
  const auto* p = reinterpret_cast<const unsigned char*>(buf);
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

uint32_t DecodeFixed32(const char* buf) {
  const auto* p = reinterpret_cast<const unsigned char*>(buf);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}

uint64_t DecodeFixed64(const char* buf) {
  const auto* p = reinterpret_cast<const unsigned char*>(buf);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void PutFixed16(std::string* dst, uint16_t v) {
  char buf[2];
  EncodeFixed16(buf, v);
  dst->append(buf, sizeof(buf));
}

void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, sizeof(buf));
}

void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, sizeof(buf));
}

void PutVarint64(std::string* dst, uint64_t v) {
  char buf[kMaxVarint64Bytes];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

void PutVarint32(std::string* dst, uint32_t v) { PutVarint64(dst, v); }

void PutVarsint64(std::string* dst, int64_t v) {
  uint64_t u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  PutVarint64(dst, u);
}

void PutLengthPrefixed(std::string* dst, std::string_view bytes) {
  PutVarint64(dst, bytes.size());
  dst->append(bytes.data(), bytes.size());
}

void PutBool(std::string* dst, bool v) { dst->push_back(v ? 1 : 0); }

int VarintLength(uint64_t v) {
  int len = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++len;
  }
  return len;
}

bool Decoder::GetFixed16(uint16_t* v) {
  if (!ok_ || in_.size() < 2) return Fail();
  *v = DecodeFixed16(in_.data());
  in_.remove_prefix(2);
  return true;
}

bool Decoder::GetFixed32(uint32_t* v) {
  if (!ok_ || in_.size() < 4) return Fail();
  *v = DecodeFixed32(in_.data());
  in_.remove_prefix(4);
  return true;
}

bool Decoder::GetFixed64(uint64_t* v) {
  if (!ok_ || in_.size() < 8) return Fail();
  *v = DecodeFixed64(in_.data());
  in_.remove_prefix(8);
  return true;
}

bool Decoder::GetVarint64(uint64_t* v) {
  if (!ok_) return false;
  uint64_t result = 0;
  for (int i = 0; i < kMaxVarint64Bytes; ++i) {
    if (static_cast<size_t>(i) >= in_.size()) return Fail();
    uint64_t byte = static_cast<unsigned char>(in_[i]);
    if (i == kMaxVarint64Bytes - 1 && byte > 1) return Fail();  // overflow
    result |= (byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      in_.remove_prefix(i + 1);
      *v = result;
      return true;
    }
  }
  return Fail();
}

bool Decoder::GetVarint32(uint32_t* v) {
  uint64_t wide;
  if (!GetVarint64(&wide)) return false;
  if (wide > UINT32_MAX) return Fail();
  *v = static_cast<uint32_t>(wide);
  return true;
}

bool Decoder::GetVarsint64(int64_t* v) {
  uint64_t u;
  if (!GetVarint64(&u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

bool Decoder::GetBool(bool* v) {
  if (!ok_ || in_.empty()) return Fail();
  unsigned char b = static_cast<unsigned char>(in_[0]);
  if (b > 1) return Fail();
  *v = b == 1;
  in_.remove_prefix(1);
  return true;
}

bool Decoder::GetBytes(size_t n, std::string_view* v) {
  if (!ok_ || in_.size() < n) return Fail();
  *v = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

bool Decoder::GetLengthPrefixed(std::string_view* v) {
  uint64_t len;
  if (!GetVarint64(&len)) return false;
  if (len > in_.size()) return Fail();
  return GetBytes(static_cast<size_t>(len), v);
}

bool Decoder::GetLengthPrefixed(std::string* v, size_t max_len) {
  std::string_view view;
  uint64_t len;
  if (!GetVarint64(&len)) return false;
  if (len > in_.size() || len > max_len) return Fail();
  if (!GetBytes(static_cast<size_t>(len), &view)) return false;
  v->assign(view.data(), view.size());
  return true;
}

bool Decoder::GetCount(uint32_t* n, size_t min_item_bytes, uint32_t max_count) {
  if (!GetVarint32(n)) return false;
  if (*n > max_count) return Fail();
  if (min_item_bytes > 0 && static_cast<uint64_t>(*n) * min_item_bytes > in_.size()) return Fail();
  return true;
}

Status Decoder::status(std::string_view what, bool require_end) const {
  if (!ok_) return Status::ProtocolError(std::string("malformed ") + std::string(what));
  if (require_end && !in_.empty())
    return Status::ProtocolError(std::string("trailing bytes after ") + std::string(what));
  return Status::OK();
}

void PutOrderedBytes(std::string* dst, std::string_view bytes) {
  for (char c : bytes) {
    dst->push_back(c);
    if (c == '\0') dst->push_back('\xff');
  }
  dst->push_back('\0');
  dst->push_back('\x01');
}

bool GetOrderedBytes(std::string_view* in, std::string* out) {
  out->clear();
  size_t i = 0;
  while (i < in->size()) {
    char c = (*in)[i];
    if (c != '\0') {
      out->push_back(c);
      ++i;
      continue;
    }
    if (i + 1 >= in->size()) return false;
    char next = (*in)[i + 1];
    if (next == '\x01') {
      in->remove_prefix(i + 2);
      return true;
    }
    if (next != '\xff') return false;
    out->push_back('\0');
    i += 2;
  }
  return false;
}

}  // namespace kdi
