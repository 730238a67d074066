// The Table API over local: and mem: tables, and URI dispatch.
#include "kdi/table.h"

#include <thread>

#include "t/test_util.h"

namespace kdi {

namespace {
std::vector<Cell> Collect(Table* t, const std::string& pred) {
  std::unique_ptr<CellStream> s;
  EXPECT_OK(t->Scan(pred, &s));
  std::vector<Cell> out;
  for (Cell c; s && s->Next(&c);) out.push_back(c);
  if (s) EXPECT_OK(s->status());
  return out;
}
}  // namespace

TEST(LocalTableTest, SetSyncScanEraseAndReopen) {
  test::TempDir dir;
  std::string uri = "local:" + dir.Join("tbl");
  {
    std::unique_ptr<Table> t;
    ASSERT_OK(Table::Open(uri, &t));
    ASSERT_OK(t->Set("com.foo", "word:cat", 10, "3"));
    ASSERT_OK(t->Set("com.foo", "word:dog", 10, "4"));
    ASSERT_OK(t->Set("com.foo", "word:cat", 20, "5"));
    ASSERT_OK(t->Insert(Cell("org.bar", "word:eel", 1, "1")));
    ASSERT_OK(t->Sync());
    auto cells = Collect(t.get(), "row ~= \"com.\" and history = 1");
    ASSERT_EQ(cells.size(), 2u);
    EXPECT_EQ(cells[0], Cell("com.foo", "word:cat", 20, "5"));
    EXPECT_EQ(cells[1], Cell("com.foo", "word:dog", 10, "4"));
    ASSERT_OK(t->Erase("com.foo", "word:cat", 20));
    ASSERT_OK(t->EraseRow("org.bar"));
    ASSERT_OK(t->Close());
  }
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open(uri, &t));
  auto cells = Collect(t.get(), "");
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0], Cell("com.foo", "word:cat", 10, "3"));
  std::unique_ptr<CellStream> s;
  Status bad = t->Scan("row ~ \"x\"", &s);
  EXPECT_TRUE(bad.IsInvalidArgument());
  EXPECT_NE(bad.message().find("position 4"), std::string::npos) << bad.ToString();
}

TEST(LocalTableTest, SchemaIsEnforcedAndStored) {
  test::TempDir dir;
  TableOptions o;
  Schema schema;
  ASSERT_OK(Schema::Parse("word:versions=1", &schema));
  o.schema = schema;
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open("local:" + dir.Join("s"), o, &t));
  EXPECT_TRUE(t->Set("r", "other:x", 1, "v").IsInvalidArgument());
  ASSERT_OK(t->Set("r", "word:x", 1, "old"));
  ASSERT_OK(t->Set("r", "word:x", 2, "new"));
  auto cells = Collect(t.get(), "");
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, "new");
  ASSERT_OK(t->Close());
  std::unique_ptr<Table> again;
  ASSERT_OK(Table::Open("local:" + dir.Join("s"), &again));  // stored schema
  Schema got;
  ASSERT_OK(again->GetSchema(&got));
  EXPECT_EQ(got, schema);
  TableOptions no_create;
  no_create.create_if_missing = false;
  std::unique_ptr<Table> missing;
  EXPECT_TRUE(Table::Open("local:" + dir.Join("absent"), no_create, &missing).IsNotFound());
}

TEST(LocalTableTest, MemTableIsRemovedOnClose) {
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open("mem:", &t));
  RowMutation m("r");
  m.Set("a:1", 1, "x").Set("a:2", 1, "y");
  ASSERT_OK(t->Apply(m));
  uint64_t rev = 0;
  ASSERT_OK(t->GetRowRevision("r", &rev));
  EXPECT_TRUE(t->ApplyIf({Condition::RowRevisionIs(rev + 1)}, RowMutation("r").EraseRow(), nullptr)
                  .IsConflict());
  ASSERT_OK(t->ApplyIf({Condition::RowRevisionIs(rev)}, RowMutation("r").EraseRow(), nullptr));
  EXPECT_TRUE(Collect(t.get(), "").empty());
  ASSERT_OK(t->Close());
}

TEST(LocalTableTest, StreamsLargeScansInPagesFromManyThreads) {
  TableOptions o;
  o.scan_page_cells = 64;
  std::unique_ptr<Table> t;
  ASSERT_OK(Table::Open("mem:", o, &t));
  std::vector<std::thread> writers;
  for (int k = 0; k < 4; ++k) {
    writers.emplace_back([&, k] {
      std::vector<RowMutation> batch;
      for (int i = 0; i < 500; ++i) {
        batch.push_back(RowMutation("w" + std::to_string(k) + "-" + std::to_string(1000 + i))
                            .Set("f:a", 1, "v"));
      }
      EXPECT_OK(t->ApplyBatch(batch));
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(Collect(t.get(), "").size(), 2000u);
  EXPECT_EQ(Collect(t.get(), "row ~= \"w2-\"").size(), 500u);
}

TEST(LocalTableTest, UriDispatch) {
  // kdi:// goes to the remote client (tested in t/client_remote_*).
  std::unique_ptr<Table> t;
  EXPECT_TRUE(Table::Open("ftp://x", &t).IsInvalidArgument());
  EXPECT_TRUE(Table::Open("local:", &t).IsInvalidArgument());
}

}  // namespace kdi
