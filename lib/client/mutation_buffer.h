// MutationBuffer and BatchSender: the write path of the kdi:// client.
//
// MutationBuffer is the bounded list of RowMutations a RemoteTable has accepted
// but not yet sent, in the order they were applied. It is thread-compatible:
// RemoteTable guards it with its own mutex.
//
// BatchSender sends a list of RowMutations: it locates each row's tablet,
// groups rows per tablet (keeping their order) and per tabletd, cuts each
// tablet's rows into Apply RPCs of at most max_batch_bytes, and sends the
// groups of different servers in parallel. Rows whose RPC fails with a
// retryable error (NotServing after a move or split, a dead server) are
// located again and resent after a backoff, until the deadline; the rows of a
// tablet that follow a failed RPC are held back with it so that mutations of
// one row are never reordered. Apply of a whole batch is atomic at the tablet,
// and Sets carry explicit timestamps, so resending after an unknown outcome
// (NetworkError) gives the same final state.
//
// Threading: BatchSender::Send may be called from any thread; RemoteTable
// serializes flushes so that successive sends keep their order.
#ifndef KDI_LIB_CLIENT_MUTATION_BUFFER_H_
#define KDI_LIB_CLIENT_MUTATION_BUFFER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kdi/status.h"
#include "kdi/table.h"
#include "lib/client/location_cache.h"
#include "lib/client/remote_backend.h"
#include "lib/client/remote_retry.h"
#include "lib/client/tablet_locator.h"

namespace kdi::client {

class MutationBuffer {
 public:
  void Add(const RowMutation& m, int64_t now_ms);
  std::vector<RowMutation> Take();
  bool empty() const { return rows_.empty(); }
  size_t bytes() const { return bytes_; }
  size_t rows() const { return rows_.size(); }
  // When the oldest buffered mutation was added (valid if !empty()).
  int64_t oldest_ms() const { return oldest_ms_; }

 private:
  std::vector<RowMutation> rows_;
  size_t bytes_ = 0;
  int64_t oldest_ms_ = 0;
};

struct SendOptions {
  int64_t rpc_timeout_ms = 10000;
  size_t max_batch_bytes = 1 << 20;
  int64_t initial_backoff_ms = 10;
  int64_t max_backoff_ms = 1000;
};

// Tablets written since the last Sync, by "table/id".
using TouchedTablets = std::map<std::string, TabletLocation>;

// A send that carries a Sync (RemoteTable::Sync with its own writes
// buffered): the last Apply RPC of each tablet asks for durability
// (ApplyRequest::sync). Just before each such RPC is sent, ++*seq is taken
// as its number; `durable` gets, per tablet ("table/id"), the number of its
// last RPC whose reply said durable.
struct SyncApplies {
  std::atomic<uint64_t>* seq = nullptr;
  std::map<std::string, uint64_t> durable;
};

class BatchSender {
 public:
  BatchSender(RemoteBackend* backend, TabletLocator* locator, RemoteStats* stats,
              const SendOptions& options)
      : backend_(backend), locator_(locator), stats_(stats), options_(options) {}

  // Sends `rows` (see above) before backoff's deadline. Tablets written are
  // added to *touched. On a non-retryable error (InvalidArgument, ...) the rows
  // of that RPC are dropped, the others still sent, and the first such error
  // returned.
  // sync (optional): see SyncApplies.
  Status Send(std::vector<RowMutation> rows, Backoff* backoff, TouchedTablets* touched,
              SyncApplies* sync = nullptr);

 private:
  struct Group;
  // Sends the batches of one server; rows that must be retried go to *retry.
  void SendServer(Group* group);

  RemoteBackend* const backend_;
  TabletLocator* const locator_;
  RemoteStats* const stats_;
  const SendOptions options_;
};

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_MUTATION_BUFFER_H_
