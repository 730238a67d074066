// Cell key and value encoding; the grammar is at the top of cell_key.h.
#include "lib/storage/cell_key.h"

#include <zlib.h>

#include <cstring>

#include "lib/util/coding.h"

namespace kdi::storage {

namespace {
constexpr uint64_t kSignBit = uint64_t{1} << 63;
}  // namespace

uint64_t EncodeTimestamp(int64_t ts) { return ~(static_cast<uint64_t>(ts) ^ kSignBit); }

int64_t DecodeTimestamp(uint64_t v) { return static_cast<int64_t>(~v ^ kSignBit); }

void EncodeCellKey(std::string_view row, std::string_view column, int64_t ts,
                   std::string* dst) {
  PutOrderedBytes(dst, row);
  PutOrderedBytes(dst, column);
  PutFixed64(dst, EncodeTimestamp(ts));
}

void EncodeRowPrefix(std::string_view row, std::string* dst) { PutOrderedBytes(dst, row); }

void EncodeColumnPrefix(std::string_view row, std::string_view column, std::string* dst) {
  PutOrderedBytes(dst, row);
  PutOrderedBytes(dst, column);
}

// An ordered string ends with 00 01. Replacing that final 01 by 02 gives a key
// greater than every key extending the prefix (they continue after 00 01) and
// smaller than the encoding of every longer string (which continues the escaped
// bytes with 00 FF or with a non-zero byte, both greater than 00 02).
void EncodeAfterRow(std::string_view row, std::string* dst) {
  PutOrderedBytes(dst, row);
  dst->back() = '\x02';
}

void EncodeAfterColumn(std::string_view row, std::string_view column, std::string* dst) {
  PutOrderedBytes(dst, row);
  PutOrderedBytes(dst, column);
  dst->back() = '\x02';
}

namespace {

// One ordered() field from the front of *in (see PutOrderedBytes): the common
// case (no 00 byte in the field) is one memchr and a view; escaped bytes are
// decoded into *scratch.
bool GetOrderedView(std::string_view* in, std::string* scratch, std::string_view* out) {
  const char* p = in->data();
  size_t n = in->size();
  const void* z = memchr(p, 0, n);
  if (z == nullptr) return false;
  size_t i = static_cast<const char*>(z) - p;
  if (i + 1 >= n) return false;
  if (p[i + 1] == '\x01') {
    *out = std::string_view(p, i);
    in->remove_prefix(i + 2);
    return true;
  }
  if (p[i + 1] != '\xff') return false;
  scratch->assign(p, i);
  for (;;) {
    scratch->push_back('\0');
    i += 2;
    const void* z2 = memchr(p + i, 0, n - i);
    if (z2 == nullptr) return false;
    size_t j = static_cast<const char*>(z2) - p;
    scratch->append(p + i, j - i);
    i = j;
    if (i + 1 >= n) return false;
    if (p[i + 1] == '\x01') break;
    if (p[i + 1] != '\xff') return false;
  }
  *out = *scratch;
  in->remove_prefix(i + 2);
  return true;
}

bool GetOrderedString(std::string_view* in, std::string* out) {
  std::string_view v;
  if (!GetOrderedView(in, out, &v)) return false;
  if (v.data() != out->data()) out->assign(v.data(), v.size());
  return true;
}

}  // namespace

bool DecodeCellKeyView(std::string_view key, std::string* row_scratch,
                       std::string* column_scratch, std::string_view* row,
                       std::string_view* column, int64_t* ts) {
  if (!GetOrderedView(&key, row_scratch, row) || !GetOrderedView(&key, column_scratch, column) ||
      key.size() != 8) {
    return false;
  }
  *ts = DecodeTimestamp(DecodeFixed64(key.data()));
  return true;
}

bool DecodeCellKey(std::string_view key, std::string* row, std::string* column, int64_t* ts) {
  if (!GetOrderedString(&key, row) || !GetOrderedString(&key, column) || key.size() != 8) {
    return false;
  }
  *ts = DecodeTimestamp(DecodeFixed64(key.data()));
  return true;
}

bool DecodeKeyRow(std::string_view key, std::string* row) { return GetOrderedString(&key, row); }

void EncodeCellValue(ValueType type, std::string_view value, Compression compression,
                     std::string* dst) {
  size_t start = dst->size();
  dst->push_back(static_cast<char>(type));
  if (compression == Compression::kZlib && value.size() >= kMinCompressBytes &&
      value.size() <= UINT32_MAX) {
    std::string out;
    PutVarint32(&out, static_cast<uint32_t>(value.size()));
    size_t header = out.size();
    uLongf bound = compressBound(static_cast<uLong>(value.size()));
    out.resize(header + bound);
    int rc = compress2(reinterpret_cast<Bytef*>(&out[header]), &bound,
                       reinterpret_cast<const Bytef*>(value.data()),
                       static_cast<uLong>(value.size()), Z_DEFAULT_COMPRESSION);
    if (rc == Z_OK && header + bound < value.size()) {
      out.resize(header + bound);
      dst->push_back(static_cast<char>(kValueFlagZlib));
      dst->append(out);
      return;
    }
  }
  dst->resize(start + 1);
  dst->push_back('\0');
  dst->append(value.data(), value.size());
}

Status DecodeCellValue(std::string_view stored, size_t max_value_bytes, ValueType* type,
                       std::string* value) {
  if (stored.size() < 2) return Status::Corruption("stored value shorter than its header");
  uint8_t t = static_cast<uint8_t>(stored[0]);
  uint8_t flags = static_cast<uint8_t>(stored[1]);
  if (t > static_cast<uint8_t>(ValueType::kErasure)) {
    return Status::Corruption("stored value has unknown type " + std::to_string(t));
  }
  if ((flags & ~kValueFlagZlib) != 0) {
    return Status::Corruption("stored value has unknown flags " + std::to_string(flags));
  }
  *type = static_cast<ValueType>(t);
  std::string_view payload = stored.substr(2);
  if ((flags & kValueFlagZlib) == 0) {
    value->assign(payload.data(), payload.size());
    return Status::OK();
  }
  Decoder d(payload);
  uint32_t raw = 0;
  if (!d.GetVarint32(&raw)) return Status::Corruption("compressed value: bad length");
  if (raw > max_value_bytes) return Status::Corruption("compressed value: length over limit");
  value->resize(raw);
  uLongf len = raw;
  std::string_view z = d.rest();
  int rc = uncompress(reinterpret_cast<Bytef*>(value->data()), &len,
                      reinterpret_cast<const Bytef*>(z.data()), static_cast<uLong>(z.size()));
  if (rc != Z_OK || len != raw) {
    value->clear();
    return Status::Corruption("compressed value: bad deflate stream");
  }
  return Status::OK();
}

}  // namespace kdi::storage
