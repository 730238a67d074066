// Wire encodings of the data model, shared by tabletd and the kdi:// client.
//
// Byte grammar (varint/lp/varsint as in lib/util/coding.h):
//   cell         := lp row, lp column, varsint64 timestamp, u8 erasure, lp value
//   mutation     := u8 type, lp column, varsint64 timestamp, lp value
//   row_mutation := lp row, varint32 n, n x mutation
//   batch        := varint32 n, n x row_mutation
//   condition    := u8 type, lp column, varsint64 timestamp, lp value, varint64 revision
//   conditions   := varint32 n, n x condition
//   cells        := varint32 n, n x cell
// Decoders check every length and count against the remaining input before
// allocating and enforce kMaxRowBytes/kMaxColumnBytes and max_value_bytes; they
// return InvalidArgument on malformed input. Pure functions; any thread.
#ifndef KDI_LIB_STORAGE_CODEC_H_
#define KDI_LIB_STORAGE_CODEC_H_

#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/util/coding.h"

namespace kdi::storage {

void EncodeCell(const Cell& cell, std::string* dst);
bool DecodeCell(Decoder* in, Cell* cell, size_t max_value_bytes = kDefaultMaxValueBytes);
void EncodeCells(const std::vector<Cell>& cells, std::string* dst);
Status DecodeCells(std::string_view src, std::vector<Cell>* cells,
                   size_t max_value_bytes = kDefaultMaxValueBytes);

void EncodeRowMutation(const RowMutation& m, std::string* dst);
bool DecodeRowMutation(Decoder* in, RowMutation* m, size_t max_value_bytes = kDefaultMaxValueBytes);
void EncodeBatch(const std::vector<RowMutation>& batch, std::string* dst);
Status DecodeBatch(std::string_view src, std::vector<RowMutation>* batch,
                   size_t max_value_bytes = kDefaultMaxValueBytes);

void EncodeConditions(const std::vector<Condition>& conditions, std::string* dst);
bool DecodeConditions(Decoder* in, std::vector<Condition>* conditions,
                      size_t max_value_bytes = kDefaultMaxValueBytes);

}  // namespace kdi::storage

#endif  // KDI_LIB_STORAGE_CODEC_H_
