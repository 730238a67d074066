// MetaStore: the master's view of the META table, read once at takeover and
// then written through (the active master is META's only writer).
//
// Every write goes to the tabletd serving META's tablet (/kdi/root) as one row
// apply followed by Sync, and only then updates the in-memory copy: the copy
// never shows what META does not durably hold. A failed write leaves the copy
// unchanged; the caller retries or gives up the step (see doc/masterd.md).
//
// Fencing: before every write the store calls the fence the master installed
// (SetFence); a write is never sent when the fence fails, so a master that lost
// /kdi/master does not write META afterwards (doc/masterd.md, "Fencing").
//
// Threading: not thread-safe; the Master serializes every use under its
// operation mutex.
#ifndef KDI_MASTERD_META_STORE_H_
#define KDI_MASTERD_META_STORE_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kdi/status.h"
#include "lib/client/meta_layout.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"

namespace kdi::masterd {

class MetaStore {
 public:
  explicit MetaStore(std::shared_ptr<rpc::TlsContext> client_tls);

  // Points the store at the tabletd serving META (drops the cached copy).
  void SetMetaServer(const std::string& address);
  const std::string& meta_server() const { return meta_server_; }

  // Called before every Put/Delete; a non-OK result is returned unchanged and
  // nothing is written.
  void SetFence(std::function<Status()> fence) { fence_ = std::move(fence); }

  // Reads every row of META into memory.
  Status Load();
  bool loaded() const { return loaded_; }

  // Writes one tablet's row (whole row rewrite), durably.
  Status Put(const meta::TabletMeta& t);
  // Deletes the row with this key, durably.
  Status Delete(const std::string& row_key);

  // The cached rows.
  const std::map<std::string, meta::TabletMeta>& rows() const { return rows_; }
  // A table's tablets in key order.
  std::vector<meta::TabletMeta> TabletsOf(const std::string& table) const;
  // Table names with at least one row.
  std::vector<std::string> Tables() const;
  // Finds a table's tablet by id; null if none.
  const meta::TabletMeta* Find(const std::string& table, const std::string& id) const;

 private:
  client::TabletRef MetaRef() const;

  std::shared_ptr<rpc::TlsContext> tls_;
  std::string meta_server_;
  std::unique_ptr<client::TabletClient> client_;
  std::map<std::string, meta::TabletMeta> rows_;
  bool loaded_ = false;
  std::function<Status()> fence_;
};

// Microseconds since the epoch.
int64_t NowMicros();

}  // namespace kdi::masterd

#endif  // KDI_MASTERD_META_STORE_H_
