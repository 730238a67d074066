// Continuous ingest and its verifier (in the manner of Accumulo's continuous
// ingest and HBase's IntegrationTestBigLinkedList), for kdi:// tables.
//
// Writers: N threads, each with its own kdi::Table handle, append linked lists
// of rows. A row key is 16 lowercase hex digits of a random 64-bit number (so
// rows spread over every split point); the row has two cells:
//   ci:prev  the key of the row it references ("" for the head of a list)
//   ci:src   "w<writer>:<batch>:<i>" (for reading a failure report)
// A batch of rows is ApplyBatch'ed then Sync'ed; only when both succeed is the
// batch *acknowledged* and its keys recorded. A row references either the
// previous row of its own batch or the last row of the writer's last
// acknowledged batch, never a row of a batch that failed: so a correct store
// has no undefined row (referenced but missing), whatever errors writers saw.
// A writer that gets an error records nothing, backs off briefly and goes on
// (the client itself retries until its deadline, timeout_ms in the URI).
//
// Verifier: scans the whole table once and counts rows that are referenced,
// unreferenced (list tails and rows of failed batches), undefined (referenced
// by a present row but missing: a lost write) and duplicates (a row or cell the
// scan returned twice or out of order); it also checks that every
// acknowledged row is present.
//
// Threading: ContinuousIngest's methods are called from one controlling
// thread; its writers run on their own threads. Stats() may be called while
// it runs. VerifyTable is a plain blocking call.
#ifndef KDI_T_CHAOS_INGEST_H_
#define KDI_T_CHAOS_INGEST_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/status.h"

namespace kdi::chaos {

// The column family the rows use (the table must have it).
constexpr const char* kIngestFamily = "ci";

// "%016x" of key.
std::string IngestRowKey(uint64_t key);

struct IngestOptions {
  std::string uri;        // kdi://... of the table (with credentials, timeout_ms)
  int writers = 4;
  int rows_per_batch = 16;
  uint64_t seed = 1;
  int64_t error_backoff_ms = 200;  // pause after a failed batch
  int64_t batch_interval_ms = 0;   // pause after each batch (spares a shared machine)
};

struct IngestStats {
  uint64_t acknowledged_rows = 0;
  uint64_t acknowledged_batches = 0;
  uint64_t failed_batches = 0;   // ApplyBatch or Sync returned an error
  uint64_t attempted_rows = 0;
  // Longest time during which no writer had a batch acknowledged (from Start,
  // and up to Stop), and when (ms since Start) it ended.
  int64_t longest_unavailable_ms = 0;
  int64_t longest_unavailable_end_ms = 0;
  std::string last_error;        // the latest error a writer saw
};

class ContinuousIngest {
 public:
  explicit ContinuousIngest(IngestOptions options);
  ~ContinuousIngest();  // stops the writers

  // Opens one table handle per writer and starts the writers.
  Status Start();
  // Signals the writers and joins them (a writer in the middle of a call
  // finishes it first, up to the client's deadline).
  void Stop();
  IngestStats Stats() const;
  // The keys of every acknowledged row (valid after Stop).
  std::vector<uint64_t> AcknowledgedKeys() const;

  ContinuousIngest(const ContinuousIngest&) = delete;
  ContinuousIngest& operator=(const ContinuousIngest&) = delete;

 private:
  struct Writer;
  void RunWriter(Writer* w);
  void NoteAck(int64_t now_ms);

  IngestOptions opts_;
  std::vector<std::unique_ptr<Writer>> writers_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  int64_t start_ms_ = 0;
  mutable std::mutex mu_;
  IngestStats stats_;         // GUARDED_BY(mu_)
  int64_t last_ack_ms_ = 0;   // GUARDED_BY(mu_)
};

struct VerifyResult {
  uint64_t rows = 0;           // distinct rows present
  uint64_t referenced = 0;     // present rows some present row references
  uint64_t unreferenced = 0;   // present rows no present row references
  uint64_t undefined = 0;      // referenced keys that are missing
  uint64_t duplicates = 0;     // rows or cells returned twice / out of order
  uint64_t malformed = 0;      // rows without a parsable ci:prev
  uint64_t acknowledged = 0;   // acknowledged keys checked
  uint64_t acknowledged_missing = 0;  // acknowledged keys not present
  std::vector<std::string> examples;  // a few missing/undefined keys, for the report
};

// Scans the table at uri and checks it against the acknowledged keys.
Status VerifyTable(const std::string& uri, const std::vector<uint64_t>& acknowledged,
                   VerifyResult* result);

}  // namespace kdi::chaos

#endif  // KDI_T_CHAOS_INGEST_H_
