// TableService: the handlers of the table interface (3a, 300-399) on a
// tabletd: Apply, ConditionalApply, Sync, ScanPage, GetRowRevision.
//
// ApplyWithFlags (305) with the sync flag is an Apply whose reply waits for
// the tablet's log flush: the write may be done on the I/O thread (inline
// path); the reply is sent by the tablet's syncer thread once a flush covers
// the write (Tablet::SyncAsync); a flush error is the reply (the batch was
// applied and may or may not be durable: the message says so). Sync requests
// are answered the same way.
//
// Every handler runs on an RPC worker thread (Dispatch::kWorker: they block on
// Berkeley DB) except point reads and small writes, which the RPC
// I/O thread answers itself when no lock of the tablet is held
// (TryScanPageInline, TryApplyInline, TryConditionalApplyInline). Each decodes
// its body (ProtocolError when malformed), checks the tablet reference,
// acquires the tablet through the registry (NotServing / ServiceUnavailable,
// see tablet_registry.h), validates mutations (InvalidArgument: empty row,
// row or column > 64 KiB, value over tabletd_max_value_bytes, unknown family,
// row outside the tablet's range) and only then calls the storage. Callable
// by every role.
//
// Threading: Register() before the server starts; handlers are thread-safe.
#ifndef KDI_TABLETD_TABLE_SERVICE_H_
#define KDI_TABLETD_TABLE_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/schema.h"
#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/rpc/server.h"
#include "lib/storage/tablet.h"
#include "tabletd/tablet_registry.h"
#include "tabletd/tabletd_config.h"

namespace kdi::tabletd {

// Server-wide request counters (for rates in ServerStatus / keepAlive).
struct RequestCounters {
  std::atomic<uint64_t> applies{0};
  std::atomic<uint64_t> scans{0};
};

// Checks a batch against the limits, the schema and the tablet's range.
// InvalidArgument naming the row and the problem; nothing is applied.
Status ValidateRowMutation(const RowMutation& rm, const storage::TabletMeta& meta,
                           uint64_t max_value_bytes);

class TableService {
 public:
  TableService(const TabletdConfig& config, TabletRegistry* registry, RequestCounters* counters)
      : config_(config), registry_(registry), counters_(counters) {}

  void Register(rpc::Server* server);

 private:
  void HandleApply(std::string body, rpc::ResponderPtr r);
  void HandleApplyWithFlags(std::string body, rpc::ResponderPtr r);
  bool TryApplyWithFlagsInline(const std::string& body, const rpc::ResponderPtr& r);
  // Worker handler and inline path of Apply and ApplyWithFlags.
  void HandleApplyRequest(const client::ApplyRequest& req, rpc::ResponderPtr r);
  bool TryApplyRequestInline(const client::ApplyRequest& req, const rpc::ResponderPtr& r);
  // After a sync Apply was applied: the reply once the tablet's log flush
  // covers it (Tablet::SyncAsync: sent from the tablet's syncer thread, so
  // neither an I/O thread nor a worker waits for the disk).
  static void SyncAndReply(const client::TabletRef& ref, const TabletUse& use,
                           std::string reply, const rpc::ResponderPtr& r);
  void HandleConditionalApply(std::string body, rpc::ResponderPtr r);
  // The I/O-thread fast paths of Apply and ConditionalApply for small
  // requests (body <= kInlineMaxWriteBytes): the write is done inline when
  // every lock of the tablet is free at once (Tablet::TryApply*), saving the
  // two thread hand-offs of a worker; false (nothing replied) otherwise, and
  // the worker handler then runs as usual.
  bool TryApplyInline(const std::string& body, const rpc::ResponderPtr& r);
  bool TryConditionalApplyInline(const std::string& body, const rpc::ResponderPtr& r);
  static constexpr size_t kInlineMaxWriteBytes = 64 * 1024;
  // Validate, apply (busy null: waiting for the tablet's locks; else only
  // trying them) and reply (req.sync: SyncAndReply). False, with nothing
  // replied, only when *busy.
  bool ApplyAndReply(const client::ApplyRequest& req, const TabletUse& use,
                     const rpc::ResponderPtr& r, bool* busy);
  bool ConditionalApplyAndReply(const client::ConditionalApplyRequest& req,
                                const TabletUse& use, const rpc::ResponderPtr& r, bool* busy);
  void HandleSync(std::string body, rpc::ResponderPtr r);
  void HandleScanPage(std::string body, rpc::ResponderPtr r);
  // The I/O-thread fast path of ScanPage for point reads (one row, a small
  // page); false (nothing replied) when the request is not one or a lock of
  // the tablet is held, and HandleScanPage then runs on a worker.
  bool TryScanPageInline(const std::string& body, const rpc::ResponderPtr& r);
  // The calling thread's scan page, reused from scan to scan so that the
  // storage engine overwrites its Cells instead of allocating strings per cell.
  static storage::ScanPageResult* ThreadPage();
  // Encodes *page (the thread's page) in one buffer of its exact size, trims
  // what the thread keeps of the page, and replies OK with the encoding.
  static void ReplyWithPage(storage::ScanPageResult* page, const rpc::ResponderPtr& r);
  // What a thread's page keeps between scans: at most this many Cells, and
  // only strings up to these capacities (each RPC worker and the I/O thread
  // keep one page: <= ~2 MiB each, ~1 MiB with the benchmark's cells).
  static constexpr size_t kKeepPageCells = 4096;
  static constexpr size_t kKeepRowBytes = 128;
  static constexpr size_t kKeepColumnBytes = 64;
  static constexpr size_t kKeepValueBytes = 256;
  void HandleGetRowRevision(std::string body, rpc::ResponderPtr r);

  // The worker handlers' common start. Each returns false after replying
  // with the error: DecodeOrReply when body does not decode (ProtocolError),
  // AcquireOrReply when ref is malformed (InvalidArgument) or its tablet is
  // not served here for reading or writing (tablet_registry.h).
  template <typename Request>
  static bool DecodeOrReply(Status (*decode)(std::string_view, Request*), const std::string& body,
                            Request* req, const rpc::ResponderPtr& r) {
    Status s = decode(body, req);
    if (!s.ok()) r->Reply(s);
    return s.ok();
  }
  bool AcquireOrReply(const client::TabletRef& ref, bool for_write, TabletUse* use,
                      const rpc::ResponderPtr& r);

  const TabletdConfig& config_;
  rpc::Server* server_ = nullptr;  // set by Register(): its worker pool
  TabletRegistry* registry_;
  RequestCounters* counters_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_TABLE_SERVICE_H_
