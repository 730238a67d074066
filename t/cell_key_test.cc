// Cell order, the storage key/value encoding and the wire codecs.
#include "lib/storage/cell_key.h"

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "kdi/cell.h"
#include "kdi/table.h"
#include "lib/storage/codec.h"
#include "t/test_util.h"

namespace kdi::storage {

TEST(CellKeyTest, CellOrderIsRowColumnTimestampDescending) {
  Cell a("r1", "f:a", 5, "x"), b("r1", "f:a", 3, "y"), c("r1", "f:b", 9, ""), d("r2", "a", 0, "");
  EXPECT_LT(CompareCellKeys(a, b), 0);  // newer first
  EXPECT_LT(CompareCellKeys(b, c), 0);
  EXPECT_LT(CompareCellKeys(c, d), 0);
  EXPECT_EQ(CompareCellKeys(a, Cell("r1", "f:a", 5, "other")), 0);
  EXPECT_EQ(ColumnFamily("word:cat"), "word");
  EXPECT_EQ(ColumnFamily("plain"), "plain");
  EXPECT_EQ(ColumnFamily("a:b:c"), "a");
}

TEST(CellKeyTest, ByteOrderOfKeysIsCellOrder) {
  std::mt19937_64 rng(42);
  auto rand_bytes = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (char& ch : s) ch = static_cast<char>("\x00\x01\xff\x7f" "ab"[rng() % 6]);
    return s;
  };
  const int64_t times[] = {INT64_MIN, -1, 0, 1, 1000, INT64_MAX};
  std::vector<Cell> cells;
  for (int i = 0; i < 400; ++i) {
    cells.emplace_back(rand_bytes(3), rand_bytes(3), times[rng() % 6], "");
  }
  std::vector<std::string> keys;
  for (const Cell& c : cells) {
    std::string k;
    EncodeCellKey(c.row, c.column, c.timestamp, &k);
    keys.push_back(k);
  }
  for (size_t i = 0; i < cells.size(); ++i) {
    for (size_t j = 0; j < cells.size(); j += 7) {
      int want = CompareCellKeys(cells[i], cells[j]);
      int got = keys[i].compare(keys[j]);
      EXPECT_EQ(want < 0, got < 0) << cells[i].DebugString() << " vs " << cells[j].DebugString();
      EXPECT_EQ(want == 0, got == 0);
    }
    std::string row, col;
    int64_t ts;
    ASSERT_TRUE(DecodeCellKey(keys[i], &row, &col, &ts));
    EXPECT_EQ(row, cells[i].row);
    EXPECT_EQ(col, cells[i].column);
    EXPECT_EQ(ts, cells[i].timestamp);
  }
}

TEST(CellKeyTest, AfterRowAndAfterColumnBound) {
  std::string k1, k2, after, k3;
  EncodeCellKey("ab", "z", INT64_MIN, &k1);
  EncodeAfterRow("ab", &after);
  EncodeCellKey("ab\x00", "a", INT64_MAX, &k2);
  EncodeCellKey("ab\x01", "a", INT64_MAX, &k3);
  EXPECT_LT(k1, after);
  EXPECT_LT(after, std::string("ab\x00\xff", 4));
  std::string k2b;
  EncodeCellKey(std::string("ab\0", 3), "a", INT64_MAX, &k2b);
  EXPECT_LT(after, k2b);
  EXPECT_LT(after, k3);
  std::string ac, c1, c2;
  EncodeAfterColumn("r", "f:a", &ac);
  EncodeCellKey("r", "f:a", INT64_MIN, &c1);
  EncodeCellKey("r", "f:a\x01", INT64_MAX, &c2);
  EXPECT_LT(c1, ac);
  EXPECT_LT(ac, c2);
}

TEST(CellKeyTest, ValueRoundTripWithAndWithoutCompression) {
  std::string big(10000, 'a');
  for (size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>(i);
  for (Compression comp : {Compression::kNone, Compression::kZlib}) {
    for (const std::string& v : {std::string(), std::string("short"), big}) {
      std::string stored;
      EncodeCellValue(ValueType::kValue, v, comp, &stored);
      if (comp == Compression::kZlib && v == big) {
        EXPECT_LT(stored.size(), v.size() / 2);
      }
      if (comp == Compression::kNone) {
        EXPECT_EQ(stored.size(), v.size() + 2);
      }
      ValueType t;
      std::string out;
      ASSERT_OK(DecodeCellValue(stored, kDefaultMaxValueBytes, &t, &out));
      EXPECT_EQ(t, ValueType::kValue);
      EXPECT_EQ(out, v);
    }
  }
}

TEST(CellKeyTest, CorruptValuesAreRejected) {
  ValueType t;
  std::string out;
  EXPECT_TRUE(DecodeCellValue("", 100, &t, &out).IsCorruption());
  EXPECT_TRUE(DecodeCellValue(std::string("\x07\x00", 2), 100, &t, &out).IsCorruption());
  EXPECT_TRUE(DecodeCellValue(std::string("\x00\x04", 2), 100, &t, &out).IsCorruption());
  std::string stored;
  EncodeCellValue(ValueType::kValue, std::string(1000, 'z'), Compression::kZlib, &stored);
  std::string bad = stored;
  bad[bad.size() - 3] ^= 0x55;
  EXPECT_TRUE(DecodeCellValue(bad, 100000, &t, &out).IsCorruption());
  EXPECT_TRUE(DecodeCellValue(stored, 10, &t, &out).IsCorruption());  // over the limit
}

TEST(CodecTest, BatchCellsAndConditionsRoundTrip) {
  RowMutation m("row\0x");
  m.Set("f:a", -5, std::string("v\0v", 3)).Erase("f:b", 7).EraseColumn("g:c").EraseRow();
  std::vector<RowMutation> batch = {m, RowMutation("r2").Set("f:x", 1, "1")};
  std::string enc;
  EncodeBatch(batch, &enc);
  std::vector<RowMutation> dec;
  ASSERT_OK(DecodeBatch(enc, &dec));
  ASSERT_EQ(dec.size(), 2u);
  EXPECT_TRUE(dec[0] == batch[0]);
  EXPECT_TRUE(dec[1] == batch[1]);
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    EXPECT_FALSE(DecodeBatch(enc.substr(0, cut), &dec).ok()) << cut;
  }

  std::vector<Cell> cells = {Cell("a", "b", 3, "c"), Cell("", "", INT64_MIN, "")};
  cells[1].erasure = true;
  std::string ce;
  EncodeCells(cells, &ce);
  std::vector<Cell> cd;
  ASSERT_OK(DecodeCells(ce, &cd));
  EXPECT_EQ(cd, cells);

  std::vector<Condition> conds = {Condition::CellEquals("f:a", 3, "x"),
                                  Condition::RowRevisionIs(77), Condition::RowAbsent()};
  std::string cnd;
  EncodeConditions(conds, &cnd);
  Decoder d(cnd);
  std::vector<Condition> cdec;
  ASSERT_TRUE(DecodeConditions(&d, &cdec));
  EXPECT_EQ(cdec, conds);
}

TEST(CodecTest, HugeClaimedCountsFailWithoutAllocating) {
  std::string enc;
  PutVarint32(&enc, 0xFFFFFFF);
  std::vector<RowMutation> dec;
  EXPECT_TRUE(DecodeBatch(enc, &dec).IsInvalidArgument());
  std::vector<Cell> cells;
  EXPECT_TRUE(DecodeCells(enc, &cells).IsInvalidArgument());
}


TEST(CellKeyTest, ViewDecodingMatchesCopyingDecodingAndRejectsMalformedKeys) {
  const std::string nul(1, '\0');
  for (const auto& [row, col] : std::vector<std::pair<std::string, std::string>>{
           {"plain", "f:q"},
           {"a" + nul + "b", "f:" + nul},
           {nul + nul, nul + "x" + nul + nul + "y" + nul},
           {"r", "f:\xff" + nul + "\x01"}}) {
    std::string key;
    EncodeCellKey(row, col, -42, &key);
    std::string row_scratch, col_scratch, r2, c2;
    std::string_view rv, cv;
    int64_t ts = 0, ts2 = 0;
    ASSERT_TRUE(DecodeCellKeyView(key, &row_scratch, &col_scratch, &rv, &cv, &ts));
    ASSERT_TRUE(DecodeCellKey(key, &r2, &c2, &ts2));
    EXPECT_EQ(rv, row);
    EXPECT_EQ(cv, col);
    EXPECT_EQ(ts, -42);
    EXPECT_EQ(r2, row);
    EXPECT_EQ(c2, col);
    EXPECT_EQ(ts2, -42);
    // Every strict prefix, and a bad escape, is rejected.
    for (size_t n = 0; n < key.size(); ++n) {
      EXPECT_FALSE(DecodeCellKeyView(key.substr(0, n), &row_scratch, &col_scratch, &rv, &cv, &ts));
      EXPECT_FALSE(DecodeCellKey(key.substr(0, n), &r2, &c2, &ts2));
    }
  }
  std::string bad = "a" + nul + "\x05" + "x";
  std::string rs, cs;
  std::string_view rv, cv;
  int64_t ts = 0;
  EXPECT_FALSE(DecodeCellKeyView(bad, &rs, &cs, &rv, &cv, &ts));
}

}  // namespace kdi::storage
