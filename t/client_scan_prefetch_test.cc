// Tests of the kdi:// scanner's page prefetch (lib/client/remote_scanner.h)
// against the in-process fake cluster: every cell exactly once and in order
// across a split while pages are fetched ahead, at most one page fetched
// ahead of the consumer (bounded memory), no prefetch for point reads and
// short scans, and no more fetching once the scanner is closed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/client/remote_scanner.h"
#include "lib/client/remote_table.h"
#include "t/client_remote_fake.h"
#include "t/test_util.h"

namespace kdi::client {
namespace {

using test::FakeCluster;

Schema WordSchema() { return test::FakeWordSchema(); }

RemoteTableOptions TestOptions() {
  RemoteTableOptions o = test::FakeTableOptions();
  o.scan_page_cells = 10;
  return o;
}

std::string RowName(int i) {
  char buf[16];
  snprintf(buf, sizeof(buf), "r%04d", i);
  return buf;
}

// A table of `rows` rows x 2 cells over two tablets, on s1 and s2.
struct Fixture {
  std::shared_ptr<FakeCluster> cluster = std::make_shared<FakeCluster>();
  std::unique_ptr<RemoteTable> table;

  explicit Fixture(int rows, const RemoteTableOptions& options = TestOptions()) {
    cluster->CreateTable("t", WordSchema(), {{"a", "", "r0500", "s1"}, {"b", "r0500", "", "s2"}});
    EXPECT_OK(RemoteTable::OpenWithBackend(cluster, options, &table));
    std::vector<RowMutation> batch;
    for (int i = 0; i < rows; i++) {
      RowMutation m(RowName(i));
      m.Set("w:a", 1, "x" + std::to_string(i)).Set("w:b", 1, "y");
      batch.push_back(m);
    }
    EXPECT_OK(table->ApplyBatch(batch));
    EXPECT_OK(table->Sync());
  }

  std::unique_ptr<CellStream> Scan(const ScanPredicate& p = ScanPredicate()) {
    std::unique_ptr<CellStream> s;
    EXPECT_OK(table->Scan(p, &s));
    return s;
  }
};

RemoteScanner* AsScanner(CellStream* s) {
  auto* r = dynamic_cast<RemoteScanner*>(s);
  EXPECT_NE(r, nullptr);
  return r;
}

TEST(ScanPrefetchTest, EveryCellOnceInOrderAcrossASplit) {
  Fixture f(1000);
  std::vector<Cell> expected = f.cluster->cells("t");
  ASSERT_EQ(expected.size(), 2000u);
  // Split the first tablet while pages are being fetched ahead (the hook runs
  // on whichever thread fetches), and move the second.
  f.cluster->OnScanPage([c = f.cluster](int page) {
    if (page == 10) c->SplitTablet("t", "a", "r0250", "a1", "a2");
    if (page == 70) c->MoveTablet("t", "b", "s3");
  });
  auto s = f.Scan();
  std::vector<Cell> got;
  for (Cell c; s->Next(&c);) got.push_back(c);
  ASSERT_OK(s->status());
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], expected[i]) << i;
  // Pages after the first were fetched by the helper thread.
  EXPECT_GE(AsScanner(s.get())->prefetched_pages(), 150u);
  EXPECT_GE(f.table->stats().scan_restarts, 1u);
}

TEST(ScanPrefetchTest, AtMostOnePageAheadOfTheConsumer) {
  Fixture f(1000);
  auto s = f.Scan();
  Cell c;
  for (int i = 0; i < 35; i++) ASSERT_TRUE(s->Next(&c));  // into page 4 of 10 cells
  // However long the consumer pauses, only the next page is fetched.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(f.cluster->total_calls("scan"), 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(f.cluster->total_calls("scan"), 5);
}

TEST(ScanPrefetchTest, PointReadsAndShortScansDoNotPrefetch) {
  Fixture f(1000);
  ScanPredicate row;
  row.SetRow(RowName(123));
  auto s = f.Scan(row);
  int n = 0;
  for (Cell c; s->Next(&c);) n++;
  ASSERT_OK(s->status());
  EXPECT_EQ(n, 2);
  EXPECT_EQ(AsScanner(s.get())->prefetched_pages(), 0u);
  EXPECT_EQ(f.cluster->total_calls("scan"), 1);

  // Less than half of the first page consumed, then closed: one page asked.
  auto t = f.Scan();
  Cell c;
  for (int i = 0; i < 4; i++) ASSERT_TRUE(t->Next(&c));
  t.reset();
  EXPECT_EQ(f.cluster->total_calls("scan"), 2);
}

// With full-size pages (4096 cells), the first page asks for at most
// kFirstPageCells: a short scan gets one small page and no prefetch; a long
// one continues with full pages, every cell once and in order.
TEST(ScanPrefetchTest, TheFirstPageIsSmall) {
  RemoteTableOptions o = test::FakeTableOptions();
  o.scan_page_cells = 4096;
  Fixture f(2000, o);  // tablet b: rows r0500..r1999, 3000 cells
  ScanPredicate from_b;
  from_b.SetRows(StringIntervalSet::AtLeast("r0500"));
  auto s = f.Scan(from_b);
  Cell c;
  for (int i = 0; i < 1000; i++) ASSERT_TRUE(s->Next(&c));  // 500 rows
  EXPECT_EQ(c.row, RowName(999));
  EXPECT_EQ(AsScanner(s.get())->prefetched_pages(), 0u);
  s.reset();
  EXPECT_EQ(f.cluster->total_calls("scan"), 1);

  auto t = f.Scan(from_b);
  std::vector<Cell> got;
  for (Cell d; t->Next(&d);) got.push_back(d);
  ASSERT_OK(t->status());
  std::vector<Cell> all = f.cluster->cells("t");
  std::vector<Cell> want(all.begin() + 1000, all.end());
  ASSERT_EQ(got.size(), 3000u);
  for (size_t i = 0; i < got.size(); i++) ASSERT_TRUE(got[i] == want[i]) << i;
  // kFirstPageCells, then the remaining 1976 cells in one full page.
  EXPECT_EQ(f.cluster->total_calls("scan"), 1 + 2);
}

TEST(ScanPrefetchTest, ClosingStopsPrefetching) {
  Fixture f(1000);
  // Every data page takes a while, so a prefetch is in flight at the close.
  f.cluster->OnScanPage([](int) { std::this_thread::sleep_for(std::chrono::milliseconds(30)); });
  auto s = f.Scan();
  Cell c;
  for (int i = 0; i < 25; i++) ASSERT_TRUE(s->Next(&c));  // page 3; page 4 being fetched
  s.reset();  // waits for the fetch in flight, asks for nothing more
  int after_close = f.cluster->total_calls("scan");
  EXPECT_LE(after_close, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_EQ(f.cluster->total_calls("scan"), after_close);
}

TEST(ScanPrefetchTest, ErrorOfAPrefetchedPageEndsTheScan) {
  Fixture f(1000);
  // The first tablet's table is dropped after two pages: the prefetch gets
  // NotFound-like errors until the deadline; the caller sees the error after
  // the cells of the pages it already had.
  f.cluster->OnScanPage([c = f.cluster](int page) {
    if (page == 2) c->DropTable("t");
  });
  auto s = f.Scan();
  int n = 0;
  for (Cell c; s->Next(&c);) n++;
  EXPECT_FALSE(s->status().ok());
  EXPECT_GE(n, 10);
  EXPECT_LE(n, 30);
}

}  // namespace
}  // namespace kdi::client
