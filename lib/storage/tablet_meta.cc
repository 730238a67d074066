// TabletMeta: the tablet's identity, stored in DIR/TABLET.
//
//   file := "KDITBLT1" lp(table) lp(start_row) lp(end_row) lp(schema) fixed32(crc32)
// where crc32 (zlib) covers every byte before it. Written atomically through
// Env::WriteFileAtomic (temp file, fsync, rename, fsync dir).
#include <zlib.h>

#include "lib/storage/tablet.h"
#include "lib/util/coding.h"

namespace kdi::storage {

namespace {
constexpr char kMagic[] = "KDITBLT1";
constexpr size_t kMagicLen = 8;

std::string Printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}
}  // namespace

std::string TabletMeta::Describe() const {
  return table + "[" + Printable(start_row) + "," + (end_row.empty() ? "+inf" : Printable(end_row)) +
         ")";
}

void TabletMeta::EncodeTo(std::string* dst) const {
  size_t start = dst->size();
  dst->append(kMagic, kMagicLen);
  PutLengthPrefixed(dst, table);
  PutLengthPrefixed(dst, start_row);
  PutLengthPrefixed(dst, end_row);
  std::string s;
  schema.EncodeTo(&s);
  PutLengthPrefixed(dst, s);
  uint32_t crc = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(dst->data() + start), static_cast<uInt>(dst->size() - start)));
  PutFixed32(dst, crc);
}

Status TabletMeta::DecodeFrom(std::string_view src, TabletMeta* out) {
  if (src.size() < kMagicLen + 4 || src.substr(0, kMagicLen) != std::string_view(kMagic, kMagicLen)) {
    return Status::Corruption("tablet metadata: bad magic");
  }
  uint32_t want = DecodeFixed32(src.data() + src.size() - 4);
  uint32_t got = static_cast<uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(src.data()), static_cast<uInt>(src.size() - 4)));
  if (want != got) return Status::Corruption("tablet metadata: checksum mismatch");
  Decoder d(src.substr(kMagicLen, src.size() - kMagicLen - 4));
  TabletMeta m;
  std::string_view schema;
  if (!d.GetLengthPrefixed(&m.table, 4096) || !d.GetLengthPrefixed(&m.start_row, kMaxRowBytes) ||
      !d.GetLengthPrefixed(&m.end_row, kMaxRowBytes) || !d.GetLengthPrefixed(&schema) ||
      !d.empty()) {
    return Status::Corruption("tablet metadata: malformed");
  }
  Status s = Schema::DecodeFrom(schema, &m.schema);
  if (!s.ok()) return Status::Corruption("tablet metadata: " + s.message());
  *out = std::move(m);
  return Status::OK();
}

}  // namespace kdi::storage
