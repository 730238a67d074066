// kdicli data commands: set, get, erase, scan, count, load, dump.
//
// TABLE is a table URI (local:DIR, mem:, kdi://HOST[:PORT]/NAME) or a bare
// table name of the configured cluster (lockd_address and the tls_* keys of
// kdi.conf, found with -c FILE or KDI_CONF). Output formats and the escaping
// that load reads back are in kdicli/format.h.
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kdi/scan_predicate.h"
#include "kdi/table.h"
#include "kdicli/command.h"
#include "kdicli/format.h"
#include "kdicli/table_uri.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool OutputIsTerminal(Context* ctx) { return &ctx->out() == &std::cout && isatty(1); }

void AddFormatFlag(Context* ctx, const char* def_help) {
  ctx->flags()
      ->AddString("format", "", std::string("output format: tsv, json or text (") + def_help + ")")
      .Choices({"tsv", "json", "text"})
      .ValueName("FMT");
}

CellFormat ChosenFormat(Context* ctx, bool dump) {
  const std::string& f = ctx->flags()->GetString("format");
  CellFormat format = CellFormat::kTsv;
  if (!f.empty()) {
    Status s = ParseCellFormat(f, &format);
    (void)s;  // Choices() already checked it
  } else if (!dump && OutputIsTerminal(ctx)) {
    format = CellFormat::kText;
  }
  return format;
}

// Parses --time (a time literal or an integer of microseconds); *given tells
// whether the flag was set.
bool ParseTimeFlag(Context* ctx, int64_t* ts, bool* given, int* rc) {
  const std::string& t = ctx->flags()->GetString("time");
  *given = !t.empty();
  if (t.empty()) {
    *ts = NowMicros();
    return true;
  }
  std::string text = t;
  bool digits = !t.empty();
  for (size_t i = (t[0] == '-' ? 1 : 0); i < t.size(); i++) digits = digits && isdigit(t[i]);
  if (digits && t != "-") text = "@" + t;
  Status s = ParseTimeLiteral(text, ts);
  if (!s.ok()) {
    *rc = ctx->UsageError("--time: " + s.message());
    return false;
  }
  return true;
}

void AddTimeFlag(Context* ctx, const char* help) {
  ctx->flags()->AddString("time", "", help).ValueName("T");
}

// Parses an optional PREDICATE operand; a bad one is a usage error.
bool ParsePredicateArg(Context* ctx, const std::vector<std::string>& args, size_t index,
                       ScanPredicate* pred, int* rc) {
  if (args.size() <= index) return true;
  Status s = ScanPredicate::Parse(args[index], pred);
  if (!s.ok()) {
    *rc = ctx->UsageError(s.message());
    return false;
  }
  return true;
}

// Writes the cells of a scan; stops after limit cells (0: no limit).
int WriteScan(Context* ctx, Table* table, const ScanPredicate& pred, CellFormat format,
              uint64_t limit, uint64_t* count) {
  std::unique_ptr<CellStream> stream;
  Status s = table->Scan(pred, &stream);
  if (!s.ok()) return ctx->Fail(s);
  CellWriter writer(format, &ctx->out());
  Cell c;
  while ((limit == 0 || writer.count() < limit) && stream->Next(&c)) writer.Write(c);
  Status fin = writer.Finish();
  *count = writer.count();
  if (!stream->status().ok()) return ctx->Fail(stream->status());
  if (!fin.ok()) return ctx->Fail(fin);
  return kExitOk;
}

// ---- set ---------------------------------------------------------------------------

int RunSet(Context* ctx) {
  AddTimeFlag(ctx, "timestamp: microseconds, @MICROS or ISO 8601 (default: now)");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 4, 4, "expected TABLE ROW COLUMN VALUE", &rc)) return rc;
  int64_t ts;
  bool given;
  if (!ParseTimeFlag(ctx, &ts, &given, &rc)) return rc;
  if (args[1].empty()) return ctx->UsageError("ROW must not be empty");
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (s.ok()) s = t->Set(args[1], args[2], ts, args[3]);
  if (s.ok()) s = t->Close();
  if (!s.ok()) return ctx->Fail(s);
  return kExitOk;
}

// ---- get ---------------------------------------------------------------------------

int RunGet(Context* ctx) {
  AddFormatFlag(ctx, "default: text on a terminal, else tsv");
  ctx->flags()->AddInt("versions", 1, 0, INT32_MAX,
                       "newest versions per column to show (0: all)");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 2, 3, "expected TABLE ROW [COLUMN]", &rc)) return rc;
  if (args[1].empty()) return ctx->UsageError("ROW must not be empty");
  ScanPredicate pred;
  pred.SetRow(args[1]);
  if (args.size() == 3) pred.SetColumn(args[2]);
  pred.SetHistory(ctx->flags()->GetInt("versions"));
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (!s.ok()) return ctx->Fail(s);
  uint64_t n = 0;
  rc = WriteScan(ctx, t.get(), pred, ChosenFormat(ctx, false), 0, &n);
  if (rc != kExitOk) return rc;
  if (n == 0) {
    return ctx->Fail(Status::NotFound(args.size() == 3 ? "no cell at that row and column"
                                                       : "no cells in that row"));
  }
  return kExitOk;
}

// ---- erase -------------------------------------------------------------------------

int RunErase(Context* ctx) {
  AddTimeFlag(ctx, "erase only the version with this timestamp (needs COLUMN)");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 2, 3, "expected TABLE ROW [COLUMN]", &rc)) return rc;
  if (args[1].empty()) return ctx->UsageError("ROW must not be empty");
  int64_t ts;
  bool given;
  if (!ParseTimeFlag(ctx, &ts, &given, &rc)) return rc;
  if (given && args.size() != 3) return ctx->UsageError("--time needs a COLUMN");
  RowMutation m(args[1]);
  if (args.size() == 2) {
    m.EraseRow();
  } else if (given) {
    m.Erase(args[2], ts);
  } else {
    m.EraseColumn(args[2]);
  }
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (s.ok()) s = t->Apply(m);
  if (s.ok()) s = t->Close();
  if (!s.ok()) return ctx->Fail(s);
  return kExitOk;
}

// ---- scan / count / dump -----------------------------------------------------------

int RunScan(Context* ctx) {
  AddFormatFlag(ctx, "default: text on a terminal, else tsv");
  ctx->flags()->AddInt("limit", 0, 0, INT64_MAX, "stop after N cells (0: no limit)").ValueName("N");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 2, "expected TABLE [PREDICATE]", &rc)) return rc;
  ScanPredicate pred;
  if (!ParsePredicateArg(ctx, args, 1, &pred, &rc)) return rc;
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (!s.ok()) return ctx->Fail(s);
  uint64_t n;
  return WriteScan(ctx, t.get(), pred, ChosenFormat(ctx, false),
                   static_cast<uint64_t>(ctx->flags()->GetInt("limit")), &n);
}

int RunDump(Context* ctx) {
  AddFormatFlag(ctx, "default: tsv");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 2, "expected TABLE [PREDICATE]", &rc)) return rc;
  if (ctx->flags()->GetString("format") == "text") {
    return ctx->UsageError("dump writes tsv or json (what load reads)");
  }
  ScanPredicate pred;
  if (!ParsePredicateArg(ctx, args, 1, &pred, &rc)) return rc;
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (!s.ok()) return ctx->Fail(s);
  uint64_t n;
  return WriteScan(ctx, t.get(), pred, ChosenFormat(ctx, true), 0, &n);
}

int RunCount(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 2, "expected TABLE [PREDICATE]", &rc)) return rc;
  ScanPredicate pred;
  if (!ParsePredicateArg(ctx, args, 1, &pred, &rc)) return rc;
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (!s.ok()) return ctx->Fail(s);
  std::unique_ptr<CellStream> stream;
  s = t->Scan(pred, &stream);
  if (!s.ok()) return ctx->Fail(s);
  uint64_t n = 0;
  for (Cell c; stream->Next(&c);) n++;
  if (!stream->status().ok()) return ctx->Fail(stream->status());
  ctx->out() << n << "\n";
  return kExitOk;
}

// ---- load --------------------------------------------------------------------------

class LoadProgress {
 public:
  LoadProgress(Context* ctx, bool terminal) : ctx_(ctx), terminal_(terminal), start_(NowSeconds()) {}
  void Update(uint64_t cells) {
    if (!terminal_) return;
    double now = NowSeconds();
    if (now - last_ < 0.2) return;
    last_ = now;
    ctx_->err() << "\rloaded " << cells << " cells (" << Rate(cells, now) << " cells/s)"
                << std::flush;
  }
  void Done(uint64_t cells, const std::string& source) {
    double now = NowSeconds();
    if (terminal_) ctx_->err() << "\r\033[K";
    char secs[32];
    snprintf(secs, sizeof(secs), "%.2f", now - start_);
    ctx_->err() << "loaded " << cells << " cells from " << source << " in " << secs << " s ("
                << Rate(cells, now) << " cells/s)\n";
  }

 private:
  uint64_t Rate(uint64_t cells, double now) const {
    double dt = now - start_;
    return dt > 0 ? static_cast<uint64_t>(cells / dt) : cells;
  }
  Context* ctx_;
  bool terminal_;
  double start_;
  double last_ = 0;
};

int RunLoad(Context* ctx) {
  ctx->flags()->AddInt("batch_cells", 1000, 1, 1000000, "cells per batch").ValueName("N");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 2, "expected TABLE [FILE|-]", &rc)) return rc;
  std::string source = args.size() == 2 ? args[1] : "-";
  std::ifstream file;
  std::istream* in = &std::cin;
  std::string name = "<stdin>";
  if (source != "-") {
    file.open(source, std::ios::binary);
    if (!file) return ctx->Fail(ErrnoToStatus("opening " + source, errno));
    in = &file;
    name = source;
  }
  std::unique_ptr<Table> t;
  Status s = OpenTable(ctx, args[0], &t);
  if (!s.ok()) return ctx->Fail(s);

  const size_t batch_cells = static_cast<size_t>(ctx->flags()->GetInt("batch_cells"));
  LoadProgress progress(ctx, isatty(2) != 0);
  std::vector<RowMutation> batch;
  size_t in_batch = 0;
  uint64_t acknowledged = 0;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::OK();
    Status st = t->ApplyBatch(batch);
    if (st.ok()) acknowledged += in_batch;
    batch.clear();
    in_batch = 0;
    return st;
  };
  std::string line;
  uint64_t lineno = 0;
  Status bad;
  while (std::getline(*in, line)) {
    lineno++;
    if (line.empty() || (line.size() == 1 && line[0] == '\r')) continue;
    Cell c;
    Status ps = ParseCellLine(line, &c);
    if (!ps.ok()) {
      bad = Status::InvalidArgument(name + ":" + std::to_string(lineno) + ": " + ps.message());
      break;
    }
    if (batch.empty() || batch.back().row() != c.row) batch.emplace_back(c.row);
    batch.back().Set(c.column, c.timestamp, c.value);
    if (++in_batch >= batch_cells) {
      s = flush();
      if (!s.ok()) break;
      progress.Update(acknowledged);
    }
  }
  if (s.ok() && bad.ok() && in->bad()) s = Status::IOError("reading " + name);
  if (s.ok()) s = flush();
  // Make what was accepted durable even when a bad line stops the load.
  Status sync = t->Close();
  if (s.ok()) s = sync;
  if (!s.ok()) {
    ctx->err() << "kdicli load: " << acknowledged << " cells were loaded before the error\n";
    return ctx->Fail(s);
  }
  if (!bad.ok()) {
    ctx->err() << "kdicli load: stopped at a bad line; the " << acknowledged
               << " cells before it are loaded\n";
    return ctx->Fail(bad);
  }
  progress.Done(acknowledged, name);
  return kExitOk;
}

}  // namespace
}  // namespace kdi::cli

KDICLI_COMMAND("set", kdi::cli::RunSet, "TABLE ROW COLUMN VALUE [--time T]",
               "write one cell (timestamp: now unless --time)");
KDICLI_COMMAND("get", kdi::cli::RunGet, "TABLE ROW [COLUMN] [--versions N] [--format FMT]",
               "print the cells of a row (newest version of each column)");
KDICLI_COMMAND("erase", kdi::cli::RunErase, "TABLE ROW [COLUMN] [--time T]",
               "erase a row, a column of a row, or one version (--time)");
KDICLI_COMMAND("scan", kdi::cli::RunScan, "TABLE [PREDICATE] [--limit N] [--format FMT]",
               "print the cells a predicate selects, in order");
KDICLI_COMMAND("count", kdi::cli::RunCount, "TABLE [PREDICATE]",
               "print the number of cells a predicate selects");
KDICLI_COMMAND("load", kdi::cli::RunLoad, "TABLE [FILE|-] [--batch_cells N]",
               "write cells read from TSV or JSON lines (what dump writes)");
KDICLI_COMMAND("dump", kdi::cli::RunDump, "TABLE [PREDICATE] [--format tsv|json]",
               "write cells as TSV (or JSON lines) that load reads back");
