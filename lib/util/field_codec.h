// One description of a message body for both directions.
//
// A message codec written as
//
//   template <class Codec> void StatFields(Codec& c, NodeStat* s) {
//     c.Varint64(&s->instance);
//     c.Bytes(&s->name, kMaxNameBytes);
//   }
//
// encodes with FieldWriter (appends each field to a string) and decodes with
// FieldReader (reads each field through a bounds-checked Decoder), so the byte
// grammar is written once and encoder and decoder cannot drift apart. The
// writer ignores the limits and never fails; the reader stops at the first
// failure (later calls are no-ops) and reports it through status().
//
// Encoding takes the message by pointer too: pass const_cast<T*>(&msg); the
// writer only reads through it.
//
// Not thread-safe; one codec per message, on the caller's thread.
#ifndef KDI_LIB_UTIL_FIELD_CODEC_H_
#define KDI_LIB_UTIL_FIELD_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"
#include "lib/util/coding.h"

namespace kdi {

class FieldWriter {
 public:
  static constexpr bool kDecoding = false;
  explicit FieldWriter(std::string* out) : out_(out) {}

  void Varint32(uint32_t* v) { PutVarint32(out_, *v); }
  void Varint64(uint64_t* v) { PutVarint64(out_, *v); }
  void Varsint64(int64_t* v) { PutVarsint64(out_, *v); }
  void Fixed32(uint32_t* v) { PutFixed32(out_, *v); }
  void Bool(bool* v) { PutBool(out_, *v); }
  void Uint8(uint8_t* v) { out_->push_back(static_cast<char>(*v)); }
  void Bytes(std::string* v, size_t /*max_len*/) { PutLengthPrefixed(out_, *v); }

  // An enum sent as varint32; values above max_value are the reader's concern.
  template <class E>
  void Enum(E* v, uint32_t /*max_value*/, E /*fallback*/) {
    PutVarint32(out_, static_cast<uint32_t>(*v));
  }

  // A count followed by each item, written by each(*this, &item).
  template <class T, class Fn>
  void List(std::vector<T>* items, size_t /*min_item_bytes*/, uint32_t /*max_count*/, Fn each) {
    PutVarint32(out_, static_cast<uint32_t>(items->size()));
    for (T& item : *items) each(*this, &item);
  }

  bool ok() const { return true; }

 private:
  std::string* out_;
};

class FieldReader {
 public:
  static constexpr bool kDecoding = true;
  explicit FieldReader(std::string_view body) : d_(body) {}

  void Varint32(uint32_t* v) { d_.GetVarint32(v); }
  void Varint64(uint64_t* v) { d_.GetVarint64(v); }
  void Varsint64(int64_t* v) { d_.GetVarsint64(v); }
  void Fixed32(uint32_t* v) { d_.GetFixed32(v); }
  void Bool(bool* v) { d_.GetBool(v); }
  void Uint8(uint8_t* v) {
    std::string_view b;
    if (d_.GetBytes(1, &b)) *v = static_cast<uint8_t>(b[0]);
  }
  // Fails when the length exceeds max_len (checked before copying).
  void Bytes(std::string* v, size_t max_len) { d_.GetLengthPrefixed(v, max_len); }

  // A value above max_value decodes as fallback (the message stays readable).
  template <class E>
  void Enum(E* v, uint32_t max_value, E fallback) {
    uint32_t raw = 0;
    if (d_.GetVarint32(&raw)) *v = raw <= max_value ? static_cast<E>(raw) : fallback;
  }

  // Fails, before allocating, when the rest of the body cannot hold the count
  // at min_item_bytes each or the count exceeds max_count.
  template <class T, class Fn>
  void List(std::vector<T>* items, size_t min_item_bytes, uint32_t max_count, Fn each) {
    uint32_t n = 0;
    if (!d_.GetCount(&n, min_item_bytes, max_count)) return;
    items->resize(n);
    for (T& item : *items) {
      if (!d_.ok()) return;
      each(*this, &item);
    }
  }

  bool ok() const { return d_.ok(); }
  // OK if every field decoded and the whole body was used; else ProtocolError
  // naming `what`.
  Status status(std::string_view what) const { return d_.status(what); }

 private:
  Decoder d_;
};

// Whole-body helpers: Encode(XFields<FieldWriter>, msg, &out) and
// return Decode(XFields<FieldReader>, body, "X request", &msg).
template <class T>
void EncodeFields(void (*fields)(FieldWriter&, T*), const T& msg, std::string* out) {
  FieldWriter w(out);
  fields(w, const_cast<T*>(&msg));
}

template <class T>
Status DecodeFields(void (*fields)(FieldReader&, T*), std::string_view body,
                    std::string_view what, T* msg) {
  FieldReader r(body);
  fields(r, msg);
  return r.status(what);
}

}  // namespace kdi

#endif  // KDI_LIB_UTIL_FIELD_CODEC_H_
