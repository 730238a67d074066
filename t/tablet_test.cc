// Tablet storage: versions, erasures, TTL and max-versions (read time and GC),
// compression, row atomicity under a concurrent scanner, conditional apply, paged
// scans, split, median, reopen, injected faults, corrupted pages, bad input.
#include "lib/storage/tablet.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>

#include "lib/storage/tablet_impl.h"
#include "t/test_util.h"

namespace kdi::storage {

namespace {

std::atomic<int64_t> g_now{1000000000LL * 1000000};
int64_t FakeNow() { return g_now.load(); }

// Runs body in a forked child (which must end with _exit, e.g. to simulate
// kill -9 of a process with open tablets) and returns its exit status, -1 if
// it did not exit normally.
int RunInChild(const std::function<void()>& body) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    body();
    _exit(100);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

class TabletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.now_micros = FakeNow;
    options_.env = &env_;
    // Every test's point reads go through the row cache (as in a tabletd);
    // RowCacheOffReadsTheBTreeAlone covers the tablet without one.
    options_.row_cache_bytes = 1 << 20;
  }

  std::unique_ptr<Tablet> Make(const std::string& schema_text = "*",
                               const std::string& name = "t") {
    TabletMeta meta;
    meta.table = "tbl";
    EXPECT_OK(Schema::Parse(schema_text, &meta.schema));
    std::unique_ptr<Tablet> t;
    Status s = Tablet::Create(dir_.Join(name), meta, options_, &t);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return t;
  }

  static std::vector<Cell> ScanAll(Tablet* t, const std::string& pred = "",
                                   ScanLimits limits = ScanLimits(), int* pages = nullptr) {
    ScanPredicate p;
    EXPECT_OK(ScanPredicate::Parse(pred, &p));
    std::vector<Cell> out;
    std::string token;
    int n = 0;
    for (;;) {
      ScanPageResult page;
      Status s = t->ScanPage(p, token, limits, &page);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) break;
      ++n;
      for (Cell& c : page.cells) out.push_back(std::move(c));
      if (page.done) break;
      token = page.resume_token;
      EXPECT_LT(n, 100000);
    }
    if (pages) *pages = n;
    return out;
  }

  static Status Set(Tablet* t, const std::string& row, const std::string& col, int64_t ts,
                    const std::string& v) {
    return t->Apply({RowMutation(row).Set(col, ts, v)}, nullptr);
  }

  test::TempDir dir_;
  FaultInjectionEnv env_;
  TabletOptions options_;
};

std::vector<std::string> Render(const std::vector<Cell>& cells) {
  std::vector<std::string> out;
  for (const Cell& c : cells) {
    out.push_back(c.row + "|" + c.column + "|" + std::to_string(c.timestamp) + "|" + c.value);
  }
  return out;
}

using V = std::vector<std::string>;

}  // namespace

TEST_F(TabletTest, CellOrderVersionsAndErasures) {
  auto t = Make();
  ASSERT_OK(Set(t.get(), "b", "f:x", 1, "b1"));
  ASSERT_OK(Set(t.get(), "a", "f:y", 5, "y5"));
  ASSERT_OK(Set(t.get(), "a", "f:x", 1, "x1"));
  ASSERT_OK(Set(t.get(), "a", "f:x", 3, "x3"));
  ASSERT_OK(Set(t.get(), "a", "f:x", -2, "x-2"));
  ASSERT_OK(Set(t.get(), "a", "f:x", 3, "x3b"));  // same key: overwrite
  EXPECT_EQ(Render(ScanAll(t.get())),
            (V{"a|f:x|3|x3b", "a|f:x|1|x1", "a|f:x|-2|x-2", "a|f:y|5|y5", "b|f:x|1|b1"}));
  // An erasure deletes exactly its (row, column, timestamp).
  ASSERT_OK(t->Apply({RowMutation("a").Erase("f:x", 3)}, nullptr));
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\" and column = \"f:x\"")),
            (V{"a|f:x|1|x1", "a|f:x|-2|x-2"}));
  Cell erasure("a", "f:x", 1, "");
  erasure.erasure = true;
  ASSERT_OK(t->Apply({RowMutation("a").Insert(erasure)}, nullptr));
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\" and column = \"f:x\"")), (V{"a|f:x|-2|x-2"}));
  ASSERT_OK(t->Apply({RowMutation("a").EraseColumn("f:x")}, nullptr));
  EXPECT_EQ(Render(ScanAll(t.get())), (V{"a|f:y|5|y5", "b|f:x|1|b1"}));
  // EraseRow then Set in one mutation: the Set survives.
  ASSERT_OK(t->Apply({RowMutation("a").EraseRow().Set("f:z", 1, "z")}, nullptr));
  EXPECT_EQ(Render(ScanAll(t.get())), (V{"a|f:z|1|z", "b|f:x|1|b1"}));
}

TEST_F(TabletTest, MaxVersionsAndTtlAtReadTimeAndGc) {
  auto t = Make("v:versions=2 ttl:ttl=10 *");
  int64_t now = g_now.load();
  for (int i = 1; i <= 5; ++i) ASSERT_OK(Set(t.get(), "r", "v:c", i, "v" + std::to_string(i)));
  ASSERT_OK(Set(t.get(), "r", "ttl:old", now - 11 * 1000000, "old"));
  ASSERT_OK(Set(t.get(), "r", "ttl:new", now - 9 * 1000000, "new"));
  EXPECT_EQ(Render(ScanAll(t.get(), "column ~= \"v:\"")), (V{"r|v:c|5|v5", "r|v:c|4|v4"}));
  // max_versions counts before the time filter: version 3 is gone even for time <= 3.
  EXPECT_TRUE(ScanAll(t.get(), "column ~= \"v:\" and time <= @3").empty());
  EXPECT_EQ(ScanAll(t.get(), "column ~= \"ttl:\"").size(), 1u);
  g_now += 5 * 1000000;  // now "new" expires too
  EXPECT_TRUE(ScanAll(t.get(), "column ~= \"ttl:\"").empty());
  uint64_t before = 0;
  ASSERT_OK(t->ApproximateSize(&before));
  CompactStats st;
  ASSERT_OK(t->Compact(&st));
  // v1..v3 went when newer versions were written; compaction removes the two
  // expired cells.
  EXPECT_EQ(st.cells_examined, 4u);
  EXPECT_EQ(st.cells_removed, 2u);
  // After GC, raising the limit does not resurrect removed versions.
  Schema s;
  ASSERT_OK(Schema::Parse("v:versions=10 ttl *", &s));
  ASSERT_OK(t->SetSchema(s));
  EXPECT_EQ(ScanAll(t.get(), "column ~= \"v:\"").size(), 2u);
  EXPECT_TRUE(ScanAll(t.get(), "column ~= \"ttl:\"").empty());
}

TEST_F(TabletTest, HistoryPositiveNegativeAndTimeFilters) {
  auto t = Make();
  for (int i = 1; i <= 5; ++i) ASSERT_OK(Set(t.get(), "r", "f:a", i * 10, std::to_string(i)));
  ASSERT_OK(Set(t.get(), "r", "f:b", 7, "b"));
  EXPECT_EQ(Render(ScanAll(t.get(), "history = 2")), (V{"r|f:a|50|5", "r|f:a|40|4", "r|f:b|7|b"}));
  EXPECT_EQ(Render(ScanAll(t.get(), "history = -3")), (V{"r|f:a|20|2", "r|f:a|10|1"}));
  EXPECT_EQ(Render(ScanAll(t.get(), "time < @40 and history = 1")), (V{"r|f:a|30|3", "r|f:b|7|b"}));
  EXPECT_EQ(Render(ScanAll(t.get(), "time = @20 or time >= @50")), (V{"r|f:a|50|5", "r|f:a|20|2"}));
  EXPECT_EQ(Render(ScanAll(t.get(), "column > \"f:a\"")), (V{"r|f:b|7|b"}));
}

TEST_F(TabletTest, RowAndColumnIntervalsSeek) {
  auto t = Make();
  for (char r = 'a'; r <= 'j'; ++r) {
    for (char c = 'a'; c <= 'e'; ++c) {
      ASSERT_OK(Set(t.get(), std::string(1, r), std::string("f:") + c, 1, "v"));
    }
  }
  // Parentheses are not in the grammar.
  ScanPredicate bad;
  EXPECT_TRUE(ScanPredicate::Parse("(row = \"b\")", &bad).IsInvalidArgument());
  auto cells = ScanAll(t.get(), "row = \"b\" or \"d\" <= row < \"f\" or row > \"i\" and "
                           "column = \"f:a\" or column ~= \"f:e\"");
  EXPECT_EQ(Render(cells), (V{"b|f:a|1|v", "b|f:e|1|v", "d|f:a|1|v", "d|f:e|1|v", "e|f:a|1|v",
                              "e|f:e|1|v", "j|f:a|1|v", "j|f:e|1|v"}));
}

TEST_F(TabletTest, PagedScanContinuesExactlyAndKeepsRowsWhole) {
  auto t = Make("v:versions=3 *");
  std::vector<RowMutation> batch;
  for (int r = 0; r < 200; ++r) {
    RowMutation m("row" + std::to_string(1000 + r));
    for (int c = 0; c < (r % 7) + 1; ++c) {
      for (int v = 0; v < 5; ++v) m.Set("v:" + std::to_string(c), v, "x" + std::to_string(v));
    }
    batch.push_back(m);
  }
  ASSERT_OK(t->Apply(batch, nullptr));
  std::vector<Cell> all = ScanAll(t.get(), "history = 2", ScanLimits{1000000, 1 << 30});
  ASSERT_EQ(all.size(), 200u * 0 + [] {
    size_t n = 0;
    for (int r = 0; r < 200; ++r) n += ((r % 7) + 1) * 2;
    return n;
  }());
  for (size_t page_cells : {1, 2, 3, 5, 16}) {
    ScanPredicate p;
    ASSERT_OK(ScanPredicate::Parse("history = 2", &p));
    ScanLimits lim{page_cells, 1 << 30};
    std::vector<Cell> got;
    std::string token, prev_last_row;
    bool prev_multi_row = false;
    for (;;) {
      ScanPageResult page;
      ASSERT_OK(t->ScanPage(p, token, lim, &page));
      // Whole rows unless a single row exceeds the page: a page holding several
      // rows ends where its last row ends.
      if (!page.cells.empty()) {
        if (prev_multi_row) {
          EXPECT_NE(page.cells.front().row, prev_last_row) << page_cells;
        }
        prev_multi_row = page.cells.front().row != page.cells.back().row;
        prev_last_row = page.cells.back().row;
        if (prev_multi_row) {
          EXPECT_LE(page.cells.size(), page_cells);
        }
      }
      for (Cell& c : page.cells) got.push_back(c);
      if (page.done) break;
      token = page.resume_token;
    }
    EXPECT_EQ(Render(got), Render(all)) << page_cells;
  }
  // Byte limit bounds a page too.
  int pages = 0;
  EXPECT_EQ(ScanAll(t.get(), "history = 2", ScanLimits{100000, 200}, &pages).size(), all.size());
  EXPECT_GT(pages, 20);
}

TEST_F(TabletTest, ScannerNeverSeesHalfARow) {
  auto t = Make();
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, scans{0};
  std::thread scanner([&] {
    ScanPredicate p;
    while (!stop) {
      std::string token;
      for (;;) {
        ScanPageResult page;
        if (!t->ScanPage(p, token, ScanLimits{25, 1 << 20}, &page).ok()) {
          bad++;
          break;
        }
        // Every row holds 10 columns, all with the same value.
        std::map<std::string, std::pair<int, std::string>> rows;
        for (const Cell& c : page.cells) {
          auto& e = rows[c.row];
          if (e.first > 0 && e.second != c.value) bad++;
          e.first++;
          e.second = c.value;
        }
        for (auto& [r, e] : rows) {
          if (e.first != 10) bad++;
        }
        if (page.done) break;
        token = page.resume_token;
      }
      scans++;
    }
  });
  for (int i = 0; i < 300; ++i) {
    RowMutation m("r" + std::to_string(i % 5));
    if (i % 50 == 49) m.EraseRow();
    for (int c = 0; c < 10; ++c) m.Set("f:" + std::to_string(c), 1, std::to_string(i));
    ASSERT_OK(t->Apply({m}, nullptr));
  }
  while (scans < 20) std::this_thread::yield();
  stop = true;
  scanner.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST_F(TabletTest, ConditionalApply) {
  auto t = Make();
  uint64_t rev = 0, rev2 = 0;
  ASSERT_OK(t->ApplyIf({Condition::RowAbsent()}, RowMutation("r").Set("f:a", 1, "one"), &rev));
  EXPECT_GT(rev, 0u);
  EXPECT_TRUE(t->ApplyIf({Condition::RowAbsent()}, RowMutation("r").Set("f:a", 2, "x"), nullptr)
                  .IsConflict());
  ASSERT_OK(t->GetRowRevision("r", &rev2));
  EXPECT_EQ(rev, rev2);
  ASSERT_OK(t->ApplyIf({Condition::CellEquals("f:a", 1, "one"), Condition::ColumnAbsent("f:b"),
                        Condition::CellAbsent("f:a", 2), Condition::RowRevisionIs(rev)},
                       RowMutation("r").Set("f:a", 2, "two"), &rev2));
  EXPECT_GT(rev2, rev);
  EXPECT_TRUE(t->ApplyIf({Condition::RowRevisionIs(rev)}, RowMutation("r").Set("f:z", 1, "z"),
                         nullptr)
                  .IsConflict());
  EXPECT_TRUE(t->ApplyIf({Condition::LatestEquals("f:a", "one")},
                         RowMutation("r").Set("f:z", 1, "z"), nullptr)
                  .IsConflict());
  ASSERT_OK(t->ApplyIf({Condition::LatestEquals("f:a", "two")},
                       RowMutation("r").Set("f:z", 1, "z"), nullptr));
  EXPECT_TRUE(t->ApplyIf({Condition::CellEquals("f:a", 1, "uno")},
                         RowMutation("r").Set("f:q", 1, "q"), nullptr)
                  .IsConflict());
  EXPECT_EQ(ScanAll(t.get(), "column = \"f:q\"").size(), 0u);
  ASSERT_OK(t->GetRowRevision("never", &rev));
  EXPECT_EQ(rev, 0u);
}

TEST_F(TabletTest, BadInputIsRejectedAndAppliesNothing) {
  options_.max_value_bytes = 1000;
  auto t = Make("f");
  EXPECT_TRUE(Set(t.get(), "", "f:a", 1, "v").IsInvalidArgument());
  EXPECT_TRUE(Set(t.get(), std::string(64 * 1024 + 1, 'r'), "f:a", 1, "v").IsInvalidArgument());
  ASSERT_OK(Set(t.get(), std::string(64 * 1024, 'r'), "f:a", 1, "v"));
  EXPECT_TRUE(Set(t.get(), "r", "f:a", 1, std::string(1001, 'v')).IsInvalidArgument());
  Status s = Set(t.get(), "r", "g:a", 1, "v");
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("unknown column family 'g'"), std::string::npos) << s.ToString();
  EXPECT_TRUE(t->Apply({RowMutation("ok").Set("f:a", 1, "v"), RowMutation("bad").Set("g:a", 1, "v")},
                       nullptr)
                  .IsInvalidArgument());
  EXPECT_EQ(ScanAll(t.get(), "row = \"ok\"").size(), 0u);
  ScanPageResult page;
  EXPECT_TRUE(t->ScanPage(ScanPredicate(), "garbage", ScanLimits(), &page).IsInvalidArgument());
}

TEST_F(TabletTest, RowRangeIsEnforced) {
  TabletMeta meta;
  meta.table = "tbl";
  meta.start_row = "m";
  meta.end_row = "t";
  meta.schema = Schema::AcceptAny();
  std::unique_ptr<Tablet> t;
  ASSERT_OK(Tablet::Create(dir_.Join("range"), meta, options_, &t));
  EXPECT_TRUE(Set(t.get(), "a", "f:a", 1, "v").IsNotServing());
  EXPECT_TRUE(Set(t.get(), "t", "f:a", 1, "v").IsNotServing());
  ASSERT_OK(Set(t.get(), "m", "f:a", 1, "v"));
  ASSERT_OK(Set(t.get(), "s\xff", "f:a", 1, "v"));
  EXPECT_EQ(ScanAll(t.get()).size(), 2u);
}

TEST_F(TabletTest, ReopenKeepsDataAndMetadata) {
  {
    auto t = Make("f:versions=2:compress=zlib");
    ASSERT_OK(Set(t.get(), "r", "f:a", 1, std::string(5000, 'z')));
    ASSERT_OK(t->Sync());
    // A second handle on the same directory is refused.
    std::unique_ptr<Tablet> dup;
    EXPECT_TRUE(Tablet::Open(dir_.Join("t"), options_, &dup).IsServiceUnavailable());
    ASSERT_OK(t->Close());
  }
  std::unique_ptr<Tablet> t;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &t));
  EXPECT_EQ(t->meta().table, "tbl");
  EXPECT_EQ(t->meta().schema.FindFamily("f")->max_versions, 2u);
  auto cells = ScanAll(t.get());
  ASSERT_EQ(cells.size(), 1u);
  EXPECT_EQ(cells[0].value, std::string(5000, 'z'));
  uint64_t size = 0;
  ASSERT_OK(t->ApproximateSize(&size));
  EXPECT_GT(size, 0u);
  std::unique_ptr<Tablet> missing;
  EXPECT_TRUE(Tablet::Open(dir_.Join("nope"), options_, &missing).IsNotFound());
}

// The split threshold compares with ApproximateSize: it counts the B-trees
// only, not the log files or the environment (which made every tablet look
// ~4 MB big and split too eagerly), and it grows with the data.
TEST_F(TabletTest, ApproximateSizeCountsTheDataNotTheEnvironment) {
  auto t = Make();
  ASSERT_OK(Set(t.get(), "a", "f:a", 1, "tiny"));
  ASSERT_OK(t->Sync());
  uint64_t tiny = 0;
  ASSERT_OK(t->ApproximateSize(&tiny));
  EXPECT_GT(tiny, 0u);
  EXPECT_LT(tiny, 128u * 1024) << "a one-cell tablet must measure a few KiB";
  uint64_t dir_bytes = 0;
  ASSERT_OK(Env::Default()->GetSize(dir_.Join("t"), &dir_bytes));
  EXPECT_GT(dir_bytes, tiny);  // the directory holds more (the log)
  std::vector<RowMutation> batch;
  for (int i = 0; i < 2000; ++i) {
    batch.push_back(RowMutation("row" + std::to_string(i)).Set("f:a", 1, std::string(1000, 'x')));
  }
  ASSERT_OK(t->Apply(batch, nullptr));  // not synced or checkpointed: still counted
  uint64_t big = 0;
  ASSERT_OK(t->ApproximateSize(&big));
  EXPECT_GT(big, 2000u * 1000);
  EXPECT_LT(big, 8u * 2000 * 1000);
  ASSERT_OK(t->Close());
  EXPECT_FALSE(t->ApproximateSize(&big).ok());
}

TEST_F(TabletTest, UnsyncedButAcknowledgedWritesSurviveUncleanClose) {
  // Simulates kill -9: the process dies without Close; a fresh open recovers
  // everything committed (commits reach the OS before Apply returns).
  std::string dir = dir_.Join("crash");
  ASSERT_EQ(RunInChild([&] {
    TabletMeta meta;
    meta.table = "tbl";
    meta.schema = Schema::AcceptAny();
    std::unique_ptr<Tablet> t;
    TabletOptions o;
    if (!Tablet::Create(dir, meta, o, &t).ok()) _exit(2);
    for (int i = 0; i < 100; ++i) {
      if (!t->Apply({RowMutation("r" + std::to_string(i)).Set("f:a", 1, "v")}, nullptr).ok()) {
        _exit(3);
      }
    }
    _exit(0);  // no Close, no Sync
  }), 0);
  std::unique_ptr<Tablet> t;
  ASSERT_OK(Tablet::Open(dir, options_, &t));
  EXPECT_EQ(ScanAll(t.get()).size(), 100u);
}

TEST_F(TabletTest, InjectedFaultsReturnErrorsAndLoseNothingAcknowledged) {
  auto t = Make();
  ASSERT_OK(Set(t.get(), "a", "f:a", 1, "v"));
  ASSERT_OK(t->Sync());
  env_.FailAt(FaultPoint::kApplyCommit, Status::IOError("disk on fire"));
  Status s = Set(t.get(), "b", "f:a", 1, "v");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  env_.FailAt(FaultPoint::kApplyCommit, ErrnoToStatus("write", ENOSPC));
  EXPECT_EQ(Set(t.get(), "b", "f:a", 1, "v").code(), Status::Code::kResourceExhausted);
  ASSERT_OK(Set(t.get(), "c", "f:a", 1, "v"));
  env_.FailAt(FaultPoint::kSyncFlush, Status::IOError("fsync failed"));
  EXPECT_TRUE(t->Sync().IsIOError());
  ASSERT_OK(t->Sync());  // retried
  EXPECT_EQ(Render(ScanAll(t.get())), (V{"a|f:a|1|v", "c|f:a|1|v"}));
  ASSERT_OK(t->Close());
  std::unique_ptr<Tablet> again;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  EXPECT_EQ(Render(ScanAll(again.get())), (V{"a|f:a|1|v", "c|f:a|1|v"}));
  // Metadata write failure on schema change: old schema stays.
  env_.FailFileOps(Status::IOError("read-only fs"));
  EXPECT_TRUE(again->SetSchema(Schema()).IsIOError());
  env_.ClearFaults();
  EXPECT_FALSE(again->meta().schema.empty());
}

TEST_F(TabletTest, GroupCommitConcurrentSyncs) {
  auto t = Make();
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 25; ++i) {
        if (!Set(t.get(), "r" + std::to_string(k) + "-" + std::to_string(i), "f:a", 1, "v").ok() ||
            !t->Sync().ok()) {
          errors++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_LE(env_.hits(FaultPoint::kSyncFlush), 100);  // never more flushes than syncs
  EXPECT_EQ(ScanAll(t.get()).size(), 100u);
}

TEST_F(TabletTest, SyncAsyncCallsBackAfterAFlushAndCloseServesEveryWaiter) {
  auto t = Make();
  // Nothing to flush: called at once, on the calling thread.
  bool called = false;
  std::thread::id ran_on;
  t->SyncAsync([&](Status s) {
    EXPECT_OK(s);
    called = true;
    ran_on = std::this_thread::get_id();
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(ran_on, std::this_thread::get_id());

  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<Status> failures;
  auto callback = [&](Status s) {
    std::lock_guard<std::mutex> l(mu);
    done++;
    if (!s.ok()) failures.push_back(s);
    cv.notify_all();
  };
  auto wait_for = [&](int n) {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(30), [&] { return done >= n; });
  };
  // Writers on four threads, each write followed by an async sync: every
  // callback is called, OK, and flushes are shared.
  const int before = env_.hits(FaultPoint::kSyncFlush);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int i = 0; i < 25; ++i) {
        ASSERT_OK(Set(t.get(), "r" + std::to_string(k) + "-" + std::to_string(i), "f:a", 1, "v"));
        t->SyncAsync(callback);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(wait_for(100));
  EXPECT_TRUE(failures.empty());
  const int flushes = env_.hits(FaultPoint::kSyncFlush) - before;
  EXPECT_GT(flushes, 0);
  EXPECT_LE(flushes, 100);

  // A failed flush fails the waiters (the write may or may not be durable);
  // the next sync works.
  ASSERT_OK(Set(t.get(), "x", "f:a", 1, "v"));
  env_.FailAt(FaultPoint::kSyncFlush, Status::IOError("fsync failed"));
  t->SyncAsync(callback);
  ASSERT_TRUE(wait_for(101));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_TRUE(failures[0].IsIOError()) << failures[0].ToString();
  ASSERT_OK(Set(t.get(), "y", "f:a", 1, "v"));
  t->SyncAsync(callback);
  ASSERT_TRUE(wait_for(102));
  EXPECT_EQ(failures.size(), 1u);

  // Close calls every callback still waiting before it returns.
  for (int i = 0; i < 50; ++i) {
    ASSERT_OK(Set(t.get(), "z" + std::to_string(i), "f:a", 1, "v"));
    t->SyncAsync(callback);
  }
  ASSERT_OK(t->Close());
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_EQ(done, 152);
    EXPECT_EQ(failures.size(), 1u);
  }
  // A closed tablet answers at once.
  Status after;
  t->SyncAsync([&](Status s) { after = s; });
  EXPECT_TRUE(after.IsServiceUnavailable()) << after.ToString();
}

TEST_F(TabletTest, CorruptedPageIsReportedAsCorruption) {
  {
    auto t = Make();
    std::vector<RowMutation> batch;
    for (int i = 0; i < 3000; ++i) {
      batch.push_back(RowMutation("row" + std::to_string(100000 + i)).Set("f:a", 1, std::string(50, 'v')));
    }
    ASSERT_OK(t->Apply(batch, nullptr));
    ASSERT_OK(t->Close());
  }
  std::string db = dir_.Join("t") + "/cells.db";
  int fd = open(db.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  off_t size = lseek(fd, 0, SEEK_END);
  ASSERT_GT(size, 8 * 4096);
  for (off_t off = 2 * 4096 + 512; off < size; off += 4096) {
    char junk[64];
    memset(junk, 0x5a, sizeof(junk));
    ASSERT_EQ(pwrite(fd, junk, sizeof(junk), off), static_cast<ssize_t>(sizeof(junk)));
  }
  close(fd);
  std::unique_ptr<Tablet> t;
  Status s = Tablet::Open(dir_.Join("t"), options_, &t);
  if (s.ok()) {
    ScanPageResult page;
    std::string token;
    do {
      s = t->ScanPage(ScanPredicate(), token, ScanLimits(), &page);
      token = page.resume_token;
    } while (s.ok() && !page.done);
  }
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find(dir_.Join("t")), std::string::npos) << s.ToString();
  if (t != nullptr) {
    // A tablet whose B-tree is damaged acknowledges no more writes: they could
    // never be applied (regression: with the write-ahead log, a write was
    // acknowledged and synced into the log of a tablet that could not open).
    Status w = t->Apply({RowMutation("row0").Set("f:a", 2, "lost")}, nullptr);
    EXPECT_TRUE(w.IsCorruption()) << w.ToString();
    EXPECT_FALSE(t->Sync().ok());
  }
}

TEST_F(TabletTest, MedianAndSplitCoverTheParentExactly) {
  auto t = Make("f:versions=5");
  std::vector<RowMutation> batch;
  for (int i = 0; i < 2000; ++i) {
    batch.push_back(RowMutation("row" + std::to_string(10000 + i)).Set("f:a", 1, "v").Set("f:b", 2, "w"));
  }
  ASSERT_OK(t->Apply(batch, nullptr));
  uint64_t rev = 0;
  ASSERT_OK(t->GetRowRevision("row10005", &rev));
  std::string median;
  ASSERT_OK(t->ApproximateMedianRow(&median));
  EXPECT_GT(median, "row10400");
  EXPECT_LT(median, "row11600");
  std::vector<Cell> all = ScanAll(t.get());
  // A failure while copying leaves the parent serving and no children behind.
  env_.FailAt(FaultPoint::kSplitPublish, Status::IOError("crash before publish"));
  EXPECT_TRUE(t->Split(median, dir_.Join("left"), dir_.Join("right")).IsIOError());
  EXPECT_FALSE(env_.Exists(dir_.Join("left")));
  EXPECT_FALSE(env_.Exists(dir_.Join("left.splitting")));
  ASSERT_OK(Set(t.get(), "row10001", "f:c", 1, "after"));
  all = ScanAll(t.get());

  ASSERT_OK(t->Split(median, dir_.Join("left"), dir_.Join("right")));
  EXPECT_TRUE(t->frozen());
  EXPECT_TRUE(Set(t.get(), "row10001", "f:c", 2, "x").IsNotServing());
  EXPECT_EQ(ScanAll(t.get()).size(), all.size());  // reads still work
  std::unique_ptr<Tablet> l, r;
  ASSERT_OK(Tablet::Open(dir_.Join("left"), options_, &l));
  ASSERT_OK(Tablet::Open(dir_.Join("right"), options_, &r));
  EXPECT_EQ(l->meta().start_row, "");
  EXPECT_EQ(l->meta().end_row, median);
  EXPECT_EQ(r->meta().start_row, median);
  EXPECT_EQ(r->meta().end_row, "");
  std::vector<Cell> joined = ScanAll(l.get());
  for (Cell& c : ScanAll(r.get())) joined.push_back(c);
  EXPECT_EQ(Render(joined), Render(all));
  uint64_t child_rev = 0;
  ASSERT_OK(l->GetRowRevision("row10005", &child_rev));
  EXPECT_EQ(child_rev, rev);
  uint64_t next = 0;
  ASSERT_OK(r->ApplyIf({}, RowMutation(median).Set("f:a", 9, "n"), &next));
  EXPECT_GT(next, rev);
  EXPECT_TRUE(Set(l.get(), median, "f:a", 1, "v").IsNotServing());
  ASSERT_OK(t->Close());
  ASSERT_OK(Tablet::Destroy(dir_.Join("t")));
  EXPECT_FALSE(env_.Exists(dir_.Join("t")));
  ASSERT_OK(Tablet::CleanupIncompleteSplits(dir_.path()));
}

TEST_F(TabletTest, MedianOfTinyTablets) {
  auto t = Make();
  std::string m;
  EXPECT_TRUE(t->ApproximateMedianRow(&m).IsNotFound());
  ASSERT_OK(Set(t.get(), "only", "f:a", 1, "v"));
  ASSERT_OK(Set(t.get(), "only", "f:b", 1, "v"));
  EXPECT_TRUE(t->ApproximateMedianRow(&m).IsNotFound());
  ASSERT_OK(Set(t.get(), "second", "f:a", 1, "v"));
  ASSERT_OK(t->ApproximateMedianRow(&m));
  EXPECT_EQ(m, "second");
}

}  // namespace kdi::storage

namespace kdi::storage {

TEST_F(TabletTest, ValuesLargerThanALogFileAndBigTransactions) {
  options_.log_file_bytes = 1 << 20;
  auto t = Make("f z:compress=zlib");
  std::string big(2 << 20, 'q');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>(i / 4096);
  ASSERT_OK(Set(t.get(), "big", "f:v", 1, big));
  ASSERT_OK(Set(t.get(), "big", "z:v", 1, big));
  ASSERT_OK(t->Sync());
  // One transaction touching many pages (lock table must cope).
  RowMutation wide("wide");
  for (int i = 0; i < 10000; ++i) wide.Set("f:" + std::to_string(100000 + i), 1, std::string(40, 'w'));
  ASSERT_OK(t->Apply({wide}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("wide").EraseRow()}, nullptr));
  ASSERT_OK(t->Close());
  std::unique_ptr<Tablet> again;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  auto cells = ScanAll(again.get());
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells[0].value, big);
  EXPECT_EQ(cells[1].value, big);
}

}  // namespace kdi::storage

namespace kdi::storage {

TEST_F(TabletTest, WritesTrimVersionsBeyondTheFamilyLimit) {
  auto t = Make("v:versions=2 u");
  for (int i = 1; i <= 5; ++i) ASSERT_OK(Set(t.get(), "r", "v:c", i, "v" + std::to_string(i)));
  // One batch writing several versions of a column, and one of another row.
  RowMutation m("s");
  for (int i = 1; i <= 4; ++i) m.Set("v:c", i, "s" + std::to_string(i));
  m.Set("v:d", 7, "d7");
  ASSERT_OK(t->Apply({m}, nullptr));
  // A version older than the two kept is itself beyond the limit.
  ASSERT_OK(Set(t.get(), "r", "v:c", 0, "late"));
  // The unlimited family keeps every version.
  for (int i = 1; i <= 3; ++i) ASSERT_OK(Set(t.get(), "r", "u:c", i, "u"));
  V expected{"r|u:c|3|u", "r|u:c|2|u", "r|u:c|1|u", "r|v:c|5|v5", "r|v:c|4|v4",
             "s|v:c|4|s4", "s|v:c|3|s3", "s|v:d|7|d7"};
  EXPECT_EQ(Render(ScanAll(t.get())), expected);
  // Compaction (which first applies the write buffer) finds only what is kept:
  // the rest was removed from the B-tree as it was written.
  CompactStats st;
  ASSERT_OK(t->Compact(&st));
  EXPECT_EQ(st.cells_examined, expected.size());
  EXPECT_EQ(st.cells_removed, 0u);
  // Raising the limit brings nothing back.
  Schema s;
  ASSERT_OK(Schema::Parse("v u", &s));
  ASSERT_OK(t->SetSchema(s));
  EXPECT_EQ(Render(ScanAll(t.get())), expected);
  // The trimmed state survives a reopen.
  const std::string dir = t->dir();
  ASSERT_OK(t->Close());
  t.reset();
  ASSERT_OK(Tablet::Open(dir, options_, &t));
  EXPECT_EQ(Render(ScanAll(t.get())), expected);
}

TEST_F(TabletTest, ADrainKeepsTheOrderOfWritesAndErasuresOfAChunk) {
  // Batches applied to the B-tree together (one drain) give what applying
  // them one by one gives: whole-row and whole-column erasures between sets.
  auto t = Make("v:versions=1 u");
  ASSERT_OK(t->Apply({RowMutation("r").Set("u:b", 1, "old").Set("u:a", 1, "old")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("r").EraseRow()}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("r").Set("u:a", 2, "new")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("s").Set("u:x", 1, "x1").Set("u:y", 1, "y1")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("s").EraseColumn("u:x").Set("u:y", 2, "y2")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("s").Set("u:x", 3, "x3")}, nullptr));
  // Sets and exact erasures of one key keep their order too.
  ASSERT_OK(t->Apply({RowMutation("t").Set("v:c", 5, "five")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("t").Erase("v:c", 5)}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("t").Set("v:c", 5, "again")}, nullptr));
  V expected{"r|u:a|2|new", "s|u:x|3|x3", "s|u:y|2|y2", "s|u:y|1|y1", "t|v:c|5|again"};
  CompactStats st;
  ASSERT_OK(t->Compact(&st));  // applies the buffer (in one chunk) first
  EXPECT_EQ(Render(ScanAll(t.get())), expected);
}

TEST_F(TabletTest, CompactionAcrossChunkBoundariesKeepsExactlyMaxVersions) {
  // Written without a limit, which is lowered afterwards: compaction does the
  // removing.
  auto t = Make("v");
  std::vector<RowMutation> batch;
  RowMutation deep("deep");
  for (int i = 0; i < 2500; ++i) deep.Set("v:c", i, "x");
  batch.push_back(deep);
  for (int r = 0; r < 700; ++r) {
    batch.push_back(RowMutation("r" + std::to_string(1000 + r)).Set("v:a", 1, "1").Set("v:a", 2, "2"));
  }
  ASSERT_OK(t->Apply(batch, nullptr));
  CompactStats applied;  // applies the write buffer to the B-tree, removes nothing
  ASSERT_OK(t->Compact(&applied));
  EXPECT_EQ(applied.cells_removed, 0u);
  Schema limited;
  ASSERT_OK(Schema::Parse("v:versions=3", &limited));
  ASSERT_OK(t->SetSchema(limited));
  std::vector<Cell> before = ScanAll(t.get());
  CompactStats st;
  ASSERT_OK(t->Compact(&st));
  EXPECT_EQ(st.cells_examined, 2500u + 1400u);
  EXPECT_EQ(st.cells_removed, 2497u);
  EXPECT_EQ(Render(ScanAll(t.get())), Render(before));
  Schema s;
  ASSERT_OK(Schema::Parse("v", &s));  // unlimited again: nothing comes back
  ASSERT_OK(t->SetSchema(s));
  EXPECT_EQ(ScanAll(t.get()).size(), before.size());
}

}  // namespace kdi::storage

namespace kdi::storage {

// Real Berkeley DB I/O failing underneath (not just the tablet's fault points).
TEST_F(TabletTest, BerkeleyDbWriteAndSyncFailuresLoseNothingAcknowledged) {
  InstallBdbIoFaultHooks();
  struct Disarm {
    ~Disarm() { DisarmBdbIoFaults(); }
  } disarm;
  auto t = Make();
  ASSERT_OK(Set(t.get(), "a", "f:a", 1, "synced"));
  ASSERT_OK(t->Sync());
  ASSERT_OK(Set(t.get(), "b", "f:a", 1, "acknowledged"));
  ArmBdbIoFault(BdbIoOp::kSync, ENOSPC, -1);
  Status s = t->Sync();
  EXPECT_FALSE(s.ok());
  DisarmBdbIoFaults();
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted) << s.ToString();
  // A failed fsync may have lost the kernel's copy of the log: the tablet
  // refuses to pretend later syncs or writes are safe until it is reopened.
  EXPECT_FALSE(t->Sync().ok());
  EXPECT_FALSE(Set(t.get(), "z", "f:a", 1, "v").ok());
  // Whatever state the environment is in now, a reopen recovers every
  // acknowledged write.
  (void)t->Close();
  t.reset();
  std::unique_ptr<Tablet> again;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  EXPECT_EQ(Render(ScanAll(again.get())), (V{"a|f:a|1|synced", "b|f:a|1|acknowledged"}));
  // A write that cannot reach the log fails and is not half-applied.
  ArmBdbIoFault(BdbIoOp::kWrite, EIO, -1);
  std::string big(1 << 20, 'x');  // overflows the log buffer, forcing writes
  s = again->Apply({RowMutation("c").Set("f:a", 1, big).Set("f:b", 1, "y")}, nullptr);
  DisarmBdbIoFaults();
  EXPECT_FALSE(s.ok());
  (void)again->Close();
  again.reset();
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  auto cells = ScanAll(again.get());
  EXPECT_EQ(Render(cells), (V{"a|f:a|1|synced", "b|f:a|1|acknowledged"}));
}

// The scan engine reads the B-tree in bulk buffers (lib/storage/bulk_cursor.h)
// and seeks inside them: check it against a model over many buffers' worth of
// cells, values larger than a buffer (and than a B-tree page: overflow items),
// row, column, time and version filters, and every page size.
TEST_F(TabletTest, BulkScanMatchesAModelAcrossBuffersAndFilters) {
  auto t = Make("v:versions=2 *");
  std::map<std::tuple<std::string, std::string, int64_t>, std::string> model;
  std::vector<RowMutation> batch;
  for (int r = 0; r < 160; ++r) {
    // Rows with a 00 byte take the escaped key path.
    std::string row = "r" + std::to_string(1000 + r) + (r % 11 == 0 ? std::string(1, '\0') : "");
    RowMutation m(row);
    for (int c = 0; c < 1 + r % 13; ++c) {
      std::string col = (c % 2 ? "v:" : "w:") + std::to_string(c);
      for (int v = 0; v < 1 + (r + c) % 4; ++v) {
        size_t len = (r * 7 + c * 3 + v) % 331 == 0 ? 300000 : 1 + (r * 31 + c * 17 + v) % 200;
        std::string value(len, static_cast<char>('a' + (r + c + v) % 26));
        m.Set(col, 10 * v + 5, value);
        model[{row, col, 10 * v + 5}] = value;
      }
    }
    batch.push_back(m);
    if (batch.size() == 50) {
      ASSERT_OK(t->Apply(batch, nullptr));
      batch.clear();
    }
  }
  ASSERT_OK(t->Apply(batch, nullptr));
  // Model evaluation: cell order is row asc, column asc, timestamp desc.
  struct Case {
    std::string pred;
    std::function<bool(const std::string&, const std::string&, int64_t, int)> keep;
  };
  auto versions_ok = [](const std::string& col, int index) {
    return col[0] != 'v' || index < 2;  // v: keeps 2 versions
  };
  std::vector<Case> cases = {
      {"", [&](auto&, auto& c, int64_t, int i) { return versions_ok(c, i); }},
      {"history = 1", [&](auto&, auto&, int64_t, int i) { return i == 0; }},
      {"column ~= \"w:\"", [&](auto&, auto& c, int64_t, int) { return c[0] == 'w'; }},
      {"column = \"v:3\" or column = \"w:8\"",
       [&](auto&, auto& c, int64_t, int i) { return (c == "v:3" && i < 2) || c == "w:8"; }},
      {"\"r1060\" <= row < \"r1090\" or row > \"r1150\" and time <= @15",
       [&](auto& r, auto& c, int64_t ts, int i) {
         return ((r >= "r1060" && r < "r1090") || r > "r1150") && ts <= 15 && versions_ok(c, i);
       }},
      {"row = \"r1042\"", [&](auto& r, auto& c, int64_t, int i) {
         return r == "r1042" && versions_ok(c, i);
       }},
  };
  for (const Case& k : cases) {
    std::vector<std::string> want;
    // Per column, newest first (the model's map holds timestamps ascending).
    for (auto it = model.begin(); it != model.end();) {
      auto col_end = it;
      while (col_end != model.end() && std::get<0>(col_end->first) == std::get<0>(it->first) &&
             std::get<1>(col_end->first) == std::get<1>(it->first)) {
        ++col_end;
      }
      int index = 0;
      for (auto v = col_end; v != it;) {
        --v;
        const auto& [r, c, ts] = v->first;
        if (k.keep(r, c, ts, index)) {
          want.push_back(r + "|" + c + "|" + std::to_string(ts) + "|" + v->second);
        }
        ++index;
      }
      it = col_end;
    }
    for (ScanLimits lim : {ScanLimits{3, 1 << 30}, ScanLimits(), ScanLimits{1000000, 1 << 30}}) {
      std::vector<std::string> got = Render(ScanAll(t.get(), k.pred, lim));
      size_t i = 0;
      while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
      EXPECT_TRUE(i == got.size() && i == want.size())
          << "predicate '" << k.pred << "' page " << lim.max_cells << ": " << got.size()
          << " cells, want " << want.size() << "; first difference at " << i << ": got "
          << (i < got.size() ? got[i].substr(0, 40) : "(end)") << ", want "
          << (i < want.size() ? want[i].substr(0, 40) : "(end)");
    }
  }
}

// A point read of a row longer than the pairs a point read fetches singly goes
// on in bulk; a page handed back with stale cells is overwritten exactly.
TEST_F(TabletTest, LongRowPointReadAndReusedPage) {
  auto t = Make();
  RowMutation m("long");
  for (int c = 0; c < 500; ++c) m.Set("f:" + std::to_string(10000 + c), 1, std::string(50, 'x'));
  ASSERT_OK(t->Apply({m, RowMutation("next").Set("f:a", 1, "n")}, nullptr));
  ScanPredicate p;
  p.SetRow("long");
  ScanPageResult page;
  page.cells.resize(1000, Cell("stale", "stale", 9, "stale"));
  page.resume_token = "junk";
  ASSERT_OK(t->ScanPage(p, "", ScanLimits{100000, 1 << 30}, &page));
  ASSERT_EQ(page.cells.size(), 500u);
  EXPECT_TRUE(page.done);
  for (int c = 0; c < 500; ++c) {
    EXPECT_EQ(page.cells[c], Cell("long", "f:" + std::to_string(10000 + c), 1, std::string(50, 'x')));
  }
  // The same page object again, for a shorter result.
  p.SetRow("next");
  ASSERT_OK(t->ScanPage(p, "", ScanLimits(), &page));
  EXPECT_EQ(Render(page.cells), (V{"next|f:a|1|n"}));
  p.SetRow("none");
  ASSERT_OK(t->ScanPage(p, "", ScanLimits(), &page));
  EXPECT_TRUE(page.cells.empty());
  EXPECT_TRUE(page.done);
}

namespace {

// Holds one of a tablet's locks on another thread (a std::mutex must not be
// tried by the thread that holds it) until destroyed.
class LockHolder {
 public:
  explicit LockHolder(std::function<void(std::function<void()> wait)> hold) {
    thread_ = std::thread([this, hold] {
      hold([this] {
        std::unique_lock<std::mutex> l(mu_);
        held_ = true;
        cv_.notify_all();
        cv_.wait(l, [this] { return release_; });
      });
    });
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return held_; });
  }
  ~LockHolder() {
    {
      std::lock_guard<std::mutex> l(mu_);
      release_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool release_ = false;
  std::thread thread_;
};

}  // namespace

TEST_F(TabletTest, TryApplyWritesWhenFreeAndNeverWaitsForAHeldLock) {
  auto t = Make();
  Tablet::Impl* impl = t->impl();
  uint64_t rev = 0;
  bool busy = true;
  ASSERT_OK(t->TryApply({RowMutation("a").Set("f:c", 1, "one")}, &rev, &busy));
  EXPECT_FALSE(busy);
  EXPECT_GT(rev, 0u);
  uint64_t rev2 = 0;
  ASSERT_OK(t->TryApplyIf({Condition::LatestEquals("f:c", "one")},
                          RowMutation("a").Set("f:c", 2, "two"), &rev2, &busy));
  EXPECT_FALSE(busy);
  EXPECT_GT(rev2, rev);
  // A failed condition is an answer, not "busy".
  Status s = t->TryApplyIf({Condition::RowAbsent()}, RowMutation("a").Set("f:c", 3, "x"),
                           nullptr, &busy);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_FALSE(busy);
  // Bad input too.
  s = t->TryApply({RowMutation("").Set("f:c", 3, "x")}, nullptr, &busy);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_FALSE(busy);
  {
    // Another writer (or a split, a compaction step) holds write_mu.
    LockHolder writer([impl](std::function<void()> wait) {
      std::lock_guard<std::mutex> w(impl->write_mu);
      wait();
    });
    ASSERT_OK(t->TryApply({RowMutation("b").Set("f:c", 1, "b")}, nullptr, &busy));
    EXPECT_TRUE(busy);
    ASSERT_OK(t->TryApplyIf({Condition::RowAbsent()}, RowMutation("b").Set("f:c", 1, "b"),
                            nullptr, &busy));
    EXPECT_TRUE(busy);
  }
  {
    // A scan page holds rw_mu shared: neither a write nor a conditional write
    // waits for it (a condition reads the row shared too, its pending
    // batches laid over the B-tree).
    LockHolder reader([impl](std::function<void()> wait) {
      std::shared_lock<std::shared_mutex> r(impl->rw_mu);
      wait();
    });
    ASSERT_OK(t->TryApply({RowMutation("b").Set("f:c", 1, "b")}, nullptr, &busy));
    EXPECT_FALSE(busy);
    s = t->TryApplyIf({Condition::RowAbsent()}, RowMutation("b").Set("f:c", 2, "x"), nullptr,
                      &busy);
    EXPECT_TRUE(s.IsConflict()) << s.ToString();  // b is pending
    EXPECT_FALSE(busy);
    ASSERT_OK(t->TryApplyIf({Condition::ColumnAbsent("f:d")},
                            RowMutation("b").Set("f:d", 2, "x"), nullptr, &busy));
    EXPECT_FALSE(busy);
  }
  {
    // Close holds life_mu exclusively.
    LockHolder closer([impl](std::function<void()> wait) {
      std::unique_lock<std::shared_mutex> l(impl->life_mu);
      wait();
    });
    ASSERT_OK(t->TryApply({RowMutation("b").Set("f:c", 1, "b")}, nullptr, &busy));
    EXPECT_TRUE(busy);
  }
  // Nothing of the busy attempts was applied; Sync covers the inline commits
  // and they survive a reopen.
  EXPECT_EQ(Render(ScanAll(t.get())),
            (V{"a|f:c|2|two", "a|f:c|1|one", "b|f:c|1|b", "b|f:d|2|x"}));
  ASSERT_OK(t->Sync());
  ASSERT_OK(t->Close());
  s = t->TryApply({RowMutation("b").Set("f:c", 1, "b")}, nullptr, &busy);
  EXPECT_TRUE(s.IsServiceUnavailable()) << s.ToString();
  EXPECT_FALSE(busy);
  t.reset();
  std::unique_ptr<Tablet> again;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  EXPECT_EQ(Render(ScanAll(again.get())),
            (V{"a|f:c|2|two", "a|f:c|1|one", "b|f:c|1|b", "b|f:d|2|x"}));
}

}  // namespace kdi::storage

namespace kdi::storage {
namespace {

// The write path: batches go to the write-ahead log and a buffer, and reach the
// B-tree before anyone reads one of their rows.
TEST_F(TabletTest, PendingWritesAreVisibleToEveryKindOfRead) {
  options_.write_buffer_bytes = 1 << 20;  // nothing is applied by size here
  auto t = Make();
  Tablet::Impl* impl = t->impl();
  uint64_t rev_a = 0, rev_b = 0;
  ASSERT_OK(t->Apply({RowMutation("a").Set("f:c", 1, "one")}, &rev_a));
  ASSERT_OK(t->Apply({RowMutation("b").Set("f:c", 1, "bee").Set("f:d", 1, "dee")}, &rev_b));
  EXPECT_EQ(impl->buffer.batches(), 2u);
  // A row revision is answered from the buffer, without applying it.
  uint64_t rev = 0;
  ASSERT_OK(t->GetRowRevision("b", &rev));
  EXPECT_EQ(rev, rev_b);
  EXPECT_EQ(impl->buffer.batches(), 2u);
  // A scan that cannot touch a pending row leaves the buffer alone.
  EXPECT_TRUE(ScanAll(t.get(), "row >= \"c\"").empty());
  EXPECT_EQ(impl->buffer.batches(), 2u);
  // A point read of a pending row reads it with its pending batches laid
  // over the B-tree: nothing is applied.
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\"")), (V{"a|f:c|1|one"}));
  EXPECT_EQ(impl->buffer.batches(), 2u);
  // So does a conditional write's check of its row (an erasure pending).
  ASSERT_OK(t->Apply({RowMutation("a").Erase("f:c", 1)}, nullptr));
  ASSERT_OK(t->ApplyIf({Condition::RowAbsent()}, RowMutation("a").Set("f:c", 2, "two"), nullptr));
  // A conditional write (a read-modify-write, whose row is read again soon)
  // is applied at once, with what was pending before it.
  EXPECT_TRUE(impl->buffer.empty());
  Status s = t->ApplyIf({Condition::ColumnAbsent("f:d")}, RowMutation("b").Set("f:d", 2, "x"),
                        nullptr);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  // A pending row's revision counts for a revision condition.
  ASSERT_OK(t->Apply({RowMutation("b").EraseRow()}, &rev));
  ASSERT_OK(t->ApplyIf({Condition::RowRevisionIs(rev)}, RowMutation("b").Set("f:e", 3, "e"),
                       nullptr));
  EXPECT_TRUE(t->ApplyIf({Condition::RowRevisionIs(rev)}, RowMutation("b").Set("f:e", 4, "e"),
                         nullptr)
                  .IsConflict());
  // The inline (never blocking) point read lays pending batches over too.
  ASSERT_OK(t->Apply({RowMutation("c").Set("f:c", 1, "sea")}, nullptr));
  ASSERT_OK(t->Apply({RowMutation("b").Set("f:e", 5, "five")}, nullptr));
  ScanPredicate p;
  ASSERT_OK(ScanPredicate::Parse("row = \"b\" and history = 1", &p));
  ScanPageResult page;
  bool busy = true;
  ASSERT_OK(t->TryScanPage(p, "", ScanLimits(), &page, &busy));
  EXPECT_FALSE(busy);
  EXPECT_EQ(Render(page.cells), (V{"b|f:e|5|five"}));
  EXPECT_EQ(impl->buffer.batches(), 2u);
  // A row with very many pending batches is applied before it is read.
  for (int i = 0; i < 200; ++i) {
    ASSERT_OK(t->Apply({RowMutation("h").Set("f:h", i, std::to_string(i))}, nullptr));
  }
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"h\" and history = 1")), (V{"h|f:h|199|199"}));
  EXPECT_TRUE(impl->buffer.empty());
  ASSERT_OK(t->Apply({RowMutation("b").Set("f:e", 3, "e")}, nullptr));
  // A scan of more than one row applies the pending batches it touches first.
  EXPECT_EQ(Render(ScanAll(t.get(), "history = 1")),
            (V{"a|f:c|2|two", "b|f:e|5|five", "c|f:c|1|sea", "h|f:h|199|199"}));
  EXPECT_TRUE(impl->buffer.empty());
}

TEST_F(TabletTest, PointReadsOfPendingRowsMatchReadsAfterTheDrain) {
  // Two tablets take the same random batches; one is drained after each
  // (Checkpoint), the other keeps them pending. Point reads of every row, with
  // assorted predicates, must agree. The unlimited family takes erasures of
  // all three kinds; the limited one only sets (an erasure of a newer version
  // may or may not reveal an older one, depending on when the older one was
  // trimmed).
  options_.write_buffer_bytes = 32 << 20;
  auto pending = Make("u v:versions=2", "pending");
  auto drained = Make("u v:versions=2", "drained");
  std::mt19937 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % n); };
  const std::vector<std::string> rows = {"r0", "r1", "r2", "r3"};
  const std::vector<std::string> columns = {"u:a", "u:b", "u:c", "v:a", "v:b"};
  const std::vector<std::string> predicates = {
      "", "history = 1", "history = 2", "column = \"u:b\"", "column ~= \"v:\"",
      "time >= @3 and time <= @6", "column = \"v:a\" and history = 1"};
  for (int step = 0; step < 300; ++step) {
    std::vector<RowMutation> batch;
    for (int m = 0, nm = 1 + pick(3); m < nm; ++m) {
      RowMutation rm(rows[pick(rows.size())]);
      for (int k = 0, nk = 1 + pick(3); k < nk; ++k) {
        const std::string& col = columns[pick(columns.size())];
        const int64_t ts = 1 + pick(8);
        const int what = pick(20);
        if (col[0] == 'v' || what < 14) {
          rm.Set(col, ts, "v" + std::to_string(step));
        } else if (what < 17) {
          rm.Erase(col, ts);
        } else if (what < 19) {
          rm.EraseColumn(col);
        } else {
          rm.EraseRow();
        }
      }
      batch.push_back(rm);
    }
    ASSERT_OK(pending->Apply(batch, nullptr));
    ASSERT_OK(drained->Apply(batch, nullptr));
    ASSERT_OK(drained->Checkpoint());
    for (const std::string& row : rows) {
      for (const std::string& pred : predicates) {
        const std::string full = "row = \"" + row + "\"" + (pred.empty() ? "" : " and " + pred);
        ASSERT_EQ(Render(ScanAll(pending.get(), full)), Render(ScanAll(drained.get(), full)))
            << "step " << step << ": " << full;
      }
    }
  }
  // The pending tablet really read through its buffer.
  EXPECT_FALSE(pending->impl()->buffer.empty());
}

TEST_F(TabletTest, TheDrainerAppliesAnIdleTabletsBufferInTheBackground) {
  options_.write_buffer_bytes = 1 << 20;
  auto t = Make();
  Tablet::Impl* impl = t->impl();
  ASSERT_OK(t->Apply({RowMutation("a").Set("f:c", 1, "one")}, nullptr));
  // No read, no size question: the drainer notices that writes stopped.
  for (int i = 0; i < 300 && !impl->buffer.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(impl->buffer.empty());
  {
    std::lock_guard<std::mutex> w(impl->write_mu);
    EXPECT_EQ(impl->applied_revision, impl->last_revision);
  }
  // It ends when there is nothing to do, and the next write starts it again.
  for (int i = 0; i < 300; ++i) {
    {
      std::lock_guard<std::mutex> l(impl->drain_mu);
      if (!impl->drainer_running) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> l(impl->drain_mu);
    EXPECT_FALSE(impl->drainer_running);
  }
  ASSERT_OK(t->Apply({RowMutation("b").Set("f:c", 1, "two")}, nullptr));
  for (int i = 0; i < 300 && !impl->buffer.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(impl->buffer.empty());
  EXPECT_EQ(ScanAll(t.get()).size(), 2u);
  ASSERT_OK(t->Close());
}

TEST_F(TabletTest, TheNonBlockingPathsLeaveLogRollsAndRetirementToBlockingOnes) {
  // A roll syncs the old segment and creates a file; retiring segments
  // flushes the B-tree's log: neither may happen on an RPC I/O thread.
  options_.write_log_segment_bytes = 1;
  auto t = Make();
  Tablet::Impl* impl = t->impl();
  bool busy = false;
  ASSERT_OK(t->TryApply({RowMutation("a").Set("f:c", 1, "one")}, nullptr, &busy));
  EXPECT_FALSE(busy);
  // (The log is read under write_mu: the drainer may roll it too.)
  auto sequence = [impl] {
    std::lock_guard<std::mutex> w(impl->write_mu);
    return impl->wal->current_sequence();
  };
  const uint64_t seq = sequence();
  ASSERT_OK(t->TryApply({RowMutation("b").Set("f:c", 1, "two")}, nullptr, &busy));
  EXPECT_TRUE(busy);  // the segment is full: a worker must roll it
  EXPECT_EQ(sequence(), seq);
  ASSERT_OK(t->Apply({RowMutation("b").Set("f:c", 1, "two")}, nullptr));
  EXPECT_EQ(sequence(), seq + 1);
  EXPECT_EQ(impl->wal->segment_count(), 2u);
  // An inline scan applies the pending batches but keeps the old segment...
  ScanPredicate p;
  ASSERT_OK(ScanPredicate::Parse("row >= \"a\"", &p));
  ScanPageResult page;
  ASSERT_OK(t->TryScanPage(p, "", ScanLimits(), &page, &busy));
  EXPECT_FALSE(busy);
  EXPECT_EQ(Render(page.cells), (V{"a|f:c|1|one", "b|f:c|1|two"}));
  EXPECT_TRUE(impl->buffer.empty());
  EXPECT_EQ(impl->wal->segment_count(), 2u);
  // ...which the drainer retires.
  for (int i = 0; i < 300 && impl->wal->segment_count() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(impl->wal->segment_count(), 1u);
  ASSERT_OK(t->Close());
  std::unique_ptr<Tablet> again;
  ASSERT_OK(Tablet::Open(dir_.Join("t"), options_, &again));
  EXPECT_EQ(Render(ScanAll(again.get())), (V{"a|f:c|1|one", "b|f:c|1|two"}));
}

TEST_F(TabletTest, AFullBufferIsAppliedAndTheLogKeepsOnlyWhatIsPending) {
  options_.write_buffer_bytes = 64 * 1024;
  options_.write_log_segment_bytes = 32 * 1024;
  auto t = Make();
  Tablet::Impl* impl = t->impl();
  const std::string value(500, 'v');
  for (int i = 0; i < 2000; ++i) {
    char row[16];
    snprintf(row, sizeof(row), "r%05d", i);
    ASSERT_OK(t->Apply({RowMutation(row).Set("f:c", 1, value)}, nullptr));
    ASSERT_LE(impl->buffer.bytes(), options_.write_buffer_bytes + 4096);
  }
  // Applied segments are removed: the log holds about a buffer's worth.
  std::vector<std::string> names;
  ASSERT_OK(Env::Default()->ListDir(t->dir(), &names));
  uint64_t wal_bytes = 0;
  for (const std::string& n : names) {
    uint64_t seq = 0, size = 0;
    if (!WriteLog::ParseSegmentName(n, &seq)) continue;
    ASSERT_OK(Env::Default()->GetSize(t->dir() + "/" + n, &size));
    wal_bytes += size;
  }
  EXPECT_LT(wal_bytes, 4 * options_.write_buffer_bytes);
  EXPECT_EQ(ScanAll(t.get()).size(), 2000u);
  ASSERT_OK(t->Close());
  names.clear();
  ASSERT_OK(Env::Default()->ListDir(dir_.Join("t"), &names));
  for (const std::string& n : names) {
    uint64_t seq = 0;
    EXPECT_FALSE(WriteLog::ParseSegmentName(n, &seq)) << n << " left after a clean close";
  }
}

TEST_F(TabletTest, WritesInTheBufferAndInRolledSegmentsSurviveAProcessDeath) {
  // kill -9 with batches applied, pending, and spread over several segments:
  // a fresh open applies the rest from the write-ahead log.
  std::string dir = dir_.Join("crash2");
  ASSERT_EQ(RunInChild([&] {
    TabletMeta meta;
    meta.table = "tbl";
    meta.schema = Schema::AcceptAny();
    TabletOptions o;
    o.write_buffer_bytes = 48 * 1024;
    o.write_log_segment_bytes = 20 * 1024;
    std::unique_ptr<Tablet> t;
    if (!Tablet::Create(dir, meta, o, &t).ok()) _exit(2);
    for (int i = 0; i < 600; ++i) {
      std::string row = "r" + std::to_string(i % 300);
      RowMutation m(row);
      m.Set("f:a", i, std::string(200, static_cast<char>('a' + i % 26)));
      if (i % 7 == 0) m.Erase("f:a", i - 300);
      if (!t->Apply({m}, nullptr).ok()) _exit(3);
    }
    if (t->impl()->buffer.empty()) _exit(4);  // the test needs pending batches
    _exit(0);  // no Close, no Sync
  }), 0);
  std::unique_ptr<Tablet> t;
  ASSERT_OK(Tablet::Open(dir, options_, &t));
  std::map<std::string, int> versions;
  for (const Cell& c : ScanAll(t.get())) versions[c.row]++;
  ASSERT_EQ(versions.size(), 300u);
  for (const auto& [row, n] : versions) {
    // i and i + 300 were set; every 7th write erased the version 300 before it.
    int i = std::stoi(row.substr(1));
    int expected = 2 - ((i + 300) % 7 == 0 ? 1 : 0);
    EXPECT_EQ(n, expected) << row;
  }
  uint64_t rev = 0;
  ASSERT_OK(t->GetRowRevision("r299", &rev));
  EXPECT_EQ(rev, 600u);
  ASSERT_OK(t->Apply({RowMutation("r0").Set("f:a", 1000, "new")}, &rev));
  EXPECT_EQ(rev, 601u);
}

}  // namespace
}  // namespace kdi::storage

namespace kdi::storage {

// ---- row cache ----

TEST(RowCacheTest, LookupInsertEraseGenerationsAndEviction) {
  auto entry = [](uint64_t gen, std::vector<std::pair<std::string, std::string>> pairs) {
    auto e = std::make_shared<RowCache::Entry>();
    e->generation = gen;
    e->pairs = std::move(pairs);
    return e;
  };
  const size_t one = RowCache::Charge("r1", {{"k1", std::string(100, 'x')}});
  RowCache cache(3 * one);
  EXPECT_EQ(cache.Lookup("r1", 0), nullptr);
  cache.Insert("r1", entry(0, {{"k1", std::string(100, 'x')}}));
  std::shared_ptr<const RowCache::Entry> hit = cache.Lookup("r1", 0);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->pairs.size(), 1u);
  EXPECT_EQ(hit->bytes, one);
  // Another generation: stale.
  EXPECT_EQ(cache.Lookup("r1", 1), nullptr);
  // An older entry does not replace a newer one.
  cache.Insert("r1", entry(1, {{"k1", std::string(100, 'y')}}));
  cache.Insert("r1", entry(0, {{"k1", std::string(100, 'z')}}));
  ASSERT_NE(cache.Lookup("r1", 1), nullptr);
  EXPECT_EQ(cache.Lookup("r1", 1)->pairs[0].second, std::string(100, 'y'));
  EXPECT_EQ(cache.rows(), 1u);
  cache.Erase("r1");
  EXPECT_EQ(cache.Lookup("r1", 1), nullptr);
  EXPECT_EQ(cache.rows(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  // Least recently used rows go first once the capacity is exceeded.
  cache.Insert("r1", entry(1, {{"k1", std::string(100, 'a')}}));
  cache.Insert("r2", entry(1, {{"k1", std::string(100, 'b')}}));
  cache.Insert("r3", entry(1, {{"k1", std::string(100, 'c')}}));
  ASSERT_NE(cache.Lookup("r1", 1), nullptr);  // r2 is now the least recent
  cache.Insert("r4", entry(1, {{"k1", std::string(100, 'd')}}));
  EXPECT_EQ(cache.rows(), 3u);
  EXPECT_LE(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.Lookup("r2", 1), nullptr);
  EXPECT_NE(cache.Lookup("r1", 1), nullptr);
  EXPECT_NE(cache.Lookup("r3", 1), nullptr);
  EXPECT_NE(cache.Lookup("r4", 1), nullptr);
  // A row over the limits is remembered as too big, without its pairs.
  RowCache big(1 << 20);
  std::vector<std::pair<std::string, std::string>> many;
  for (size_t i = 0; i <= RowCache::kMaxRowPairs; ++i) {
    many.emplace_back("k" + std::to_string(i), "v");
  }
  big.Insert("wide", entry(0, many));
  ASSERT_NE(big.Lookup("wide", 0), nullptr);
  EXPECT_TRUE(big.Lookup("wide", 0)->too_big);
  EXPECT_TRUE(big.Lookup("wide", 0)->pairs.empty());
  big.Insert("long", entry(0, {{"k", std::string(RowCache::kMaxRowBytes + 1, 'v')}}));
  EXPECT_TRUE(big.Lookup("long", 0)->too_big);
  EXPECT_EQ(big.hits(), 0u);
  EXPECT_EQ(big.misses(), 4u);
}

TEST(RowCacheTest, CursorSeeksWithinTheRowOnly) {
  RowCache::Entry e;
  e.pairs = {{"b1", "1"}, {"b3", "3"}, {"b5", "5"}};
  RowCacheCursor c(&e);
  ASSERT_EQ(c.Seek("a"), 0);
  EXPECT_EQ(c.key(), "b1");
  ASSERT_EQ(c.Seek("b2"), 0);
  EXPECT_EQ(c.key(), "b3");
  EXPECT_EQ(c.value(), "3");
  ASSERT_EQ(c.Next(), 0);
  EXPECT_EQ(c.key(), "b5");
  EXPECT_EQ(c.Next(), DB_NOTFOUND);
  EXPECT_EQ(c.Next(), DB_NOTFOUND);
  EXPECT_EQ(c.Seek("b6"), DB_NOTFOUND);
  ASSERT_EQ(c.Seek("b5"), 0);
  EXPECT_EQ(c.key(), "b5");
  RowCache::Entry empty;
  RowCacheCursor none(&empty);
  EXPECT_EQ(none.Seek(""), DB_NOTFOUND);
}

// A point read fills the cache and the next is a hit; every way the B-tree
// changes under a cached row (a drained write, an erasure of the row or of a
// column, a compaction) is seen by the next read.
TEST_F(TabletTest, RowCacheServesPointReadsAndForgetsChangedRows) {
  auto t = Make("v:versions=1 ttl:ttl=10 *");
  const int64_t now = g_now.load();
  ASSERT_OK(Set(t.get(), "a", "v:x", 1, "a1"));
  ASSERT_OK(Set(t.get(), "b", "v:x", 1, "b1"));
  ASSERT_OK(Set(t.get(), "b", "f:y", 2, "y2"));
  ASSERT_OK(t->Checkpoint());  // the writes are in the B-tree
  const std::string row_b = "row = \"b\"";
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:y|2|y2", "b|v:x|1|b1"}));
  Tablet::RowCacheCounters c0 = t->row_cache_counters();
  EXPECT_EQ(c0.rows, 1u);
  EXPECT_GT(c0.bytes, 0u);
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:y|2|y2", "b|v:x|1|b1"}));
  // A narrower predicate is answered from the same entry.
  EXPECT_EQ(Render(ScanAll(t.get(), row_b + " and column = \"v:x\"")), (V{"b|v:x|1|b1"}));
  Tablet::RowCacheCounters c1 = t->row_cache_counters();
  EXPECT_EQ(c1.hits, c0.hits + 2);
  EXPECT_EQ(c1.misses, c0.misses);

  // A newer version, read while pending and after the drain.
  ASSERT_OK(Set(t.get(), "b", "v:x", 5, "b5"));
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:y|2|y2", "b|v:x|5|b5"}));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:y|2|y2", "b|v:x|5|b5"}));
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:y|2|y2", "b|v:x|5|b5"}));
  // Only the written row left the cache: a's entry (filled now) survives b's writes.
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\"")), (V{"a|v:x|1|a1"}));
  uint64_t hits = t->row_cache_counters().hits;
  ASSERT_OK(Set(t.get(), "b", "f:z", 3, "z3"));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\"")), (V{"a|v:x|1|a1"}));
  EXPECT_EQ(t->row_cache_counters().hits, hits + 1);

  // Erasures of a column and of the row.
  ASSERT_OK(t->Apply({RowMutation("b").EraseColumn("f:y")}, nullptr));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(Render(ScanAll(t.get(), row_b)), (V{"b|f:z|3|z3", "b|v:x|5|b5"}));
  ASSERT_OK(t->Apply({RowMutation("b").EraseRow()}, nullptr));
  ASSERT_OK(t->Checkpoint());
  EXPECT_TRUE(ScanAll(t.get(), row_b).empty());
  EXPECT_TRUE(ScanAll(t.get(), row_b).empty());  // a cached empty row

  // TTL is applied to cached cells at read time, and a compaction (which
  // removes the expired cell from the B-tree) makes the entries stale.
  ASSERT_OK(Set(t.get(), "c", "ttl:t", now - 9 * 1000000, "t"));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(ScanAll(t.get(), "row = \"c\"").size(), 1u);
  EXPECT_EQ(ScanAll(t.get(), "row = \"c\"").size(), 1u);  // from the cache
  g_now += 2 * 1000000;
  EXPECT_TRUE(ScanAll(t.get(), "row = \"c\"").empty());
  const uint64_t misses = t->row_cache_counters().misses;
  CompactStats stats;
  ASSERT_OK(t->Compact(&stats));
  EXPECT_EQ(stats.cells_removed, 1u);
  EXPECT_TRUE(ScanAll(t.get(), "row = \"c\"").empty());
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"a\"")), (V{"a|v:x|1|a1"}));
  EXPECT_EQ(t->row_cache_counters().misses, misses + 2);
  g_now -= 2 * 1000000;
}

// Without a row cache (TabletOptions::row_cache_bytes 0) point reads read the
// B-tree; the counters stay zero.
TEST_F(TabletTest, RowCacheOffReadsTheBTreeAlone) {
  options_.row_cache_bytes = 0;
  auto t = Make();
  ASSERT_OK(Set(t.get(), "b", "f:x", 1, "b1"));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"b\"")), (V{"b|f:x|1|b1"}));
  ASSERT_OK(Set(t.get(), "b", "f:x", 2, "b2"));
  ASSERT_OK(t->Checkpoint());
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"b\"")), (V{"b|f:x|2|b2", "b|f:x|1|b1"}));
  Tablet::RowCacheCounters c = t->row_cache_counters();
  EXPECT_EQ(c.hits + c.misses + c.rows + c.bytes, 0u);
}

// Readers of one row never see it go back in time while a writer updates it
// and drains run (each drain erases the row from the cache under rw_mu; a
// stale entry would show an older value after a newer one).
TEST_F(TabletTest, RowCacheNeverServesAnOlderValueUnderConcurrentWritesAndDrains) {
  auto t = Make("f:versions=1 *");
  constexpr int kWrites = 1500;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<uint64_t> reads{0};
  auto reader = [&] {
    int64_t seen = 0;
    while (!done.load()) {
      std::vector<Cell> cells = ScanAll(t.get(), "row = \"r\"");
      reads++;
      if (cells.empty()) continue;
      int64_t v = std::stoll(cells[0].value);
      if (v < seen) failures++;
      seen = v;
    }
  };
  std::thread r1(reader), r2(reader);
  for (int i = 1; i <= kWrites; ++i) {
    ASSERT_OK(Set(t.get(), "r", "f:c", i, std::to_string(i)));
    if (i % 25 == 0) ASSERT_OK(t->Checkpoint());
  }
  ASSERT_OK(t->Checkpoint());
  done = true;
  r1.join();
  r2.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(Render(ScanAll(t.get(), "row = \"r\"")), (V{"r|f:c|1500|1500"}));
  EXPECT_GT(t->row_cache_counters().hits, 0u);
}

}  // namespace kdi::storage
