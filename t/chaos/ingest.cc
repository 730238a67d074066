// Continuous ingest writers and verifier; see ingest.h.
#include "t/chaos/ingest.h"

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <random>
#include <unordered_set>

#include "kdi/table.h"

namespace kdi::chaos {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Parses 16 lowercase hex digits.
bool ParseKey(const std::string& s, uint64_t* key) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else {
      return false;
    }
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *key = v;
  return true;
}

const std::string kPrevColumn = std::string(kIngestFamily) + ":prev";
const std::string kSrcColumn = std::string(kIngestFamily) + ":src";

}  // namespace

std::string IngestRowKey(uint64_t key) {
  char buf[17];
  snprintf(buf, sizeof(buf), "%016" PRIx64, key);
  return buf;
}

struct ContinuousIngest::Writer {
  int index = 0;
  std::unique_ptr<Table> table;
  std::mt19937_64 rng;
  std::vector<uint64_t> acked;  // read by the controller only after join
};

ContinuousIngest::ContinuousIngest(IngestOptions options) : opts_(std::move(options)) {}

ContinuousIngest::~ContinuousIngest() { Stop(); }

Status ContinuousIngest::Start() {
  for (int i = 0; i < opts_.writers; i++) {
    auto w = std::make_unique<Writer>();
    w->index = i;
    w->rng.seed(opts_.seed * 1000003u + static_cast<uint64_t>(i));
    RETURN_NOT_OK_PREPEND(Table::Open(opts_.uri, &w->table),
                          "opening the table for writer " + std::to_string(i));
    writers_.push_back(std::move(w));
  }
  start_ms_ = NowMs();
  last_ack_ms_ = start_ms_;
  for (auto& w : writers_) threads_.emplace_back([this, p = w.get()] { RunWriter(p); });
  return Status::OK();
}

void ContinuousIngest::Stop() {
  stop_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
  std::lock_guard<std::mutex> l(mu_);
  if (start_ms_ > 0) NoteAck(NowMs());  // a gap running up to the stop counts too
  start_ms_ = 0;
}

void ContinuousIngest::NoteAck(int64_t now_ms) {
  int64_t gap = now_ms - last_ack_ms_;
  if (gap > stats_.longest_unavailable_ms) {
    stats_.longest_unavailable_ms = gap;
    stats_.longest_unavailable_end_ms = now_ms - start_ms_;
  }
  last_ack_ms_ = now_ms;
}

void ContinuousIngest::RunWriter(Writer* w) {
  std::string prev;  // last row of this writer's last acknowledged batch
  uint64_t batch_no = 0;
  while (!stop_) {
    std::vector<RowMutation> batch;
    std::vector<uint64_t> keys;
    std::string link = prev;
    for (int i = 0; i < opts_.rows_per_batch; i++) {
      uint64_t key = w->rng();
      std::string row = IngestRowKey(key);
      RowMutation m(row);
      m.Set(kPrevColumn, 1, link);
      m.Set(kSrcColumn, 1,
            "w" + std::to_string(w->index) + ":" + std::to_string(batch_no) + ":" +
                std::to_string(i));
      batch.push_back(std::move(m));
      keys.push_back(key);
      link = row;
    }
    batch_no++;
    Status s = w->table->ApplyBatch(batch);
    if (s.ok()) s = w->table->Sync();
    std::lock_guard<std::mutex> l(mu_);
    stats_.attempted_rows += keys.size();
    if (s.ok()) {
      w->acked.insert(w->acked.end(), keys.begin(), keys.end());
      prev = link;
      stats_.acknowledged_rows += keys.size();
      stats_.acknowledged_batches++;
      NoteAck(NowMs());
      if (opts_.batch_interval_ms > 0) {
        mu_.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(opts_.batch_interval_ms));
        mu_.lock();
      }
    } else {
      stats_.failed_batches++;
      stats_.last_error = "writer " + std::to_string(w->index) + ": " + s.ToString();
      mu_.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(opts_.error_backoff_ms));
      mu_.lock();
    }
  }
  // Close flushes nothing that matters: everything recorded was synced. An
  // error here (cluster unavailable at the end) acknowledges nothing.
  (void)w->table->Close();
}

IngestStats ContinuousIngest::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

std::vector<uint64_t> ContinuousIngest::AcknowledgedKeys() const {
  std::vector<uint64_t> out;
  for (auto& w : writers_) out.insert(out.end(), w->acked.begin(), w->acked.end());
  return out;
}

Status VerifyTable(const std::string& uri, const std::vector<uint64_t>& acknowledged,
                   VerifyResult* result) {
  *result = VerifyResult();
  std::unique_ptr<Table> table;
  RETURN_NOT_OK_PREPEND(Table::Open(uri, &table), "verify: opening " + uri);
  std::unique_ptr<CellStream> stream;
  RETURN_NOT_OK_PREPEND(table->Scan("", &stream), "verify: scan");
  std::unordered_set<uint64_t> present;
  std::unordered_set<uint64_t> references;
  Cell c, last;
  bool have_last = false;
  bool row_has_prev = false;
  uint64_t row_key = 0;
  bool row_ok = false;
  auto finish_row = [&] {
    if (have_last && row_ok && !row_has_prev) result->malformed++;
  };
  while (stream->Next(&c)) {
    if (have_last && c.row == last.row) {
      if (CompareCellKeys(last, c) >= 0) result->duplicates++;
    } else {
      finish_row();
      if (have_last && c.row < last.row) result->duplicates++;
      row_has_prev = false;
      row_ok = ParseKey(c.row, &row_key);
      if (!row_ok) {
        result->malformed++;
      } else if (!present.insert(row_key).second) {
        result->duplicates++;
        if (result->examples.size() < 10) result->examples.push_back("duplicate row " + c.row);
      }
    }
    if (row_ok && c.column == kPrevColumn && !c.erasure) {
      row_has_prev = true;
      uint64_t ref;
      if (!c.value.empty()) {
        if (ParseKey(c.value, &ref)) {
          references.insert(ref);
        } else {
          result->malformed++;
        }
      }
    }
    last = std::move(c);
    have_last = true;
  }
  finish_row();
  RETURN_NOT_OK_PREPEND(stream->status(), "verify: scan");
  stream.reset();
  (void)table->Close();

  result->rows = present.size();
  for (uint64_t k : present) {
    if (references.count(k)) {
      result->referenced++;
    } else {
      result->unreferenced++;
    }
  }
  for (uint64_t r : references) {
    if (!present.count(r)) {
      result->undefined++;
      if (result->examples.size() < 10) {
        result->examples.push_back("undefined (referenced, missing) " + IngestRowKey(r));
      }
    }
  }
  result->acknowledged = acknowledged.size();
  for (uint64_t k : acknowledged) {
    if (!present.count(k)) {
      result->acknowledged_missing++;
      if (result->examples.size() < 10) {
        result->examples.push_back("acknowledged, missing " + IngestRowKey(k));
      }
    }
  }
  return Status::OK();
}

}  // namespace kdi::chaos
