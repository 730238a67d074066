// kdi_example: a small application of the KDI Table API (libkdi(3)).
//
// Build against an installed KDI:
//   c++ kdi_example.cc $(pkg-config --cflags --libs kdi) -o kdi_example
// Run:
//   ./kdi_example kdi://127.0.0.1:7400/web   (a table with family "anchor")
//   ./kdi_example local:/tmp/example-table
//   ./kdi_example                             (a temporary mem: table)
// For kdi:// set KDI_CONF to a kdi.conf naming the TLS files (kdicli
// local-cluster writes one), or put them in the URI.
//
// It writes a few cells, makes them durable, scans them with a predicate, uses
// a conditional update and erases what it wrote. Exit status 0 on success.
#include <kdi/table.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int Fail(const char* what, const kdi::Status& s) {
  std::fprintf(stderr, "kdi_example: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string uri = argc > 1 ? argv[1] : "mem:";
  std::unique_ptr<kdi::Table> table;
  kdi::Status s = kdi::Table::Open(uri, &table);
  if (!s.ok()) return Fail("open", s);

  // Writes: single cells, and several cells of one row applied atomically.
  int64_t now = NowMicros();
  s = table->Set("com.example/", "anchor:home", now, "Example home");
  if (!s.ok()) return Fail("set", s);
  kdi::RowMutation page("com.example/about");
  page.Set("anchor:about", now, "About us").Set("anchor:team", now, "Our team");
  s = table->Apply(page);
  if (!s.ok()) return Fail("apply", s);
  // Sync: everything written so far is on stable storage when it returns.
  s = table->Sync();
  if (!s.ok()) return Fail("sync", s);

  // A scan with KDI's predicate language: newest version of anchors of rows
  // starting with "com.example".
  std::unique_ptr<kdi::CellStream> cells;
  s = table->Scan("row ~= \"com.example\" and column ~= \"anchor:\" and history = 1", &cells);
  if (!s.ok()) return Fail("scan", s);
  int n = 0;
  for (kdi::Cell c; cells->Next(&c); n++) {
    std::printf("%s\t%s\t%s\n", c.row.c_str(), c.column.c_str(), c.value.c_str());
  }
  if (!cells->status().ok()) return Fail("scan", cells->status());
  cells.reset();  // streams go before their table
  if (n != 3) {
    std::fprintf(stderr, "kdi_example: expected 3 cells, got %d\n", n);
    return 1;
  }

  // Check-and-mutate: create a row only if it does not exist yet.
  kdi::RowMutation counter("com.example/counter");
  counter.Set("anchor:count", now, "1");
  uint64_t revision = 0;
  s = table->ApplyIf({kdi::Condition::RowAbsent()}, counter, &revision);
  if (!s.ok()) return Fail("conditional apply", s);
  s = table->ApplyIf({kdi::Condition::RowAbsent()}, counter, &revision);
  if (!s.IsConflict()) return Fail("second conditional apply should conflict", s);

  // Clean up and close (Close also syncs).
  for (const char* row : {"com.example/", "com.example/about", "com.example/counter"}) {
    s = table->EraseRow(row);
    if (!s.ok()) return Fail("erase", s);
  }
  s = table->Close();
  if (!s.ok()) return Fail("close", s);
  std::printf("ok\n");
  return 0;
}
