// The byte encoding of cells inside a tablet's Berkeley DB B-tree (see
// doc/storage_format.md):
//
//   key   := ordered(row) ordered(column) fixed64be(~(uint64(ts) ^ 1<<63))
//   value := u8 type (0 = value, 1 = erasure) u8 flags (bit 0: zlib) payload
//   payload (zlib) := varint32 raw_length, deflate stream
//
// ordered() is PutOrderedBytes (lib/util/coding.h). With this encoding plain
// bytewise comparison of keys is cell order: row asc, column asc, timestamp desc.
// Pure functions; any thread.
#ifndef KDI_LIB_STORAGE_CELL_KEY_H_
#define KDI_LIB_STORAGE_CELL_KEY_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "kdi/schema.h"
#include "kdi/status.h"

namespace kdi::storage {

enum class ValueType : uint8_t { kValue = 0, kErasure = 1 };
constexpr uint8_t kValueFlagZlib = 1;
// Values shorter than this are never compressed.
constexpr size_t kMinCompressBytes = 32;

void EncodeCellKey(std::string_view row, std::string_view column, int64_t ts, std::string* dst);
// Prefix of every key of a row / of a (row, column).
void EncodeRowPrefix(std::string_view row, std::string* dst);
void EncodeColumnPrefix(std::string_view row, std::string_view column, std::string* dst);
// A key greater than every key of `row` and smaller than every key of any later row.
void EncodeAfterRow(std::string_view row, std::string* dst);
// Same within a row, after every key of (row, column).
void EncodeAfterColumn(std::string_view row, std::string_view column, std::string* dst);

uint64_t EncodeTimestamp(int64_t ts);
int64_t DecodeTimestamp(uint64_t v);

// Splits a key; false if it is not a well-formed cell key.
bool DecodeCellKey(std::string_view key, std::string* row, std::string* column, int64_t* ts);
// As DecodeCellKey without copying: row and column view `key` when they hold no
// escaped 00 byte, else they are decoded into *row_scratch / *column_scratch
// and view those. Valid while `key` and the scratch strings are.
bool DecodeCellKeyView(std::string_view key, std::string* row_scratch,
                       std::string* column_scratch, std::string_view* row,
                       std::string_view* column, int64_t* ts);
// Just the row (cheaper); false if malformed.
bool DecodeKeyRow(std::string_view key, std::string* row);

void EncodeCellValue(ValueType type, std::string_view value, Compression compression,
                     std::string* dst);
// Corruption on a bad type, flags, length or deflate stream; a decompressed value
// longer than max_value_bytes is Corruption too.
Status DecodeCellValue(std::string_view stored, size_t max_value_bytes, ValueType* type,
                       std::string* value);

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_CELL_KEY_H_
