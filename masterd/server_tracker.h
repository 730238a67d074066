// ServerTracker: which tablet servers are alive, from the lock service, and
// what they last reported in keepAlive (600).
//
// A server is live while its ephemeral node /kdi/servers/HOST:PORT exists and
// is locked exclusively (DESIGN.md §3: the lock is the server's licence to
// serve); Refresh() re-reads the directory. The node's contents
// ("HOST:PORT start_time_us data_root shared|local") say whether the server's
// data root is shared; the tracker remembers that for servers that died, so
// the master knows whether their tablets can move at once.
//
// Restarts: a server that comes back on the same address serves none of its
// old tablets. The tracker notices a new incarnation (another session owns
// the ephemeral node than at the last Refresh) and lists the address in
// Restarted() until the master calls DoneRestart(); across master terms the
// start time in the node (StartTime) tells the same.
//
// Threading: thread-safe (an internal mutex); Refresh does lock-service calls
// without holding it.
#ifndef KDI_MASTERD_SERVER_TRACKER_H_
#define KDI_MASTERD_SERVER_TRACKER_H_

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "lib/client/admin_protocol.h"

namespace kdi::masterd {

struct TrackedServer {
  std::string address;
  bool live = false;
  bool shared_data = false;
  bool shared_known = false;
  std::string data_root;
  int64_t start_time_us = 0;
  uint64_t incarnation = 0;  // session id owning /kdi/servers/ADDR (0: unknown)
  int64_t last_keepalive_us = 0;
  client::ServerStatusInfo last_status;  // from the last keepAlive
};

class ServerTracker {
 public:
  // Re-reads /kdi/servers. On error the previous view stays.
  Status Refresh(lock::LockSession* session);
  // Records a keepAlive.
  void OnKeepAlive(const client::ServerStatusInfo& status, int64_t now_us);

  std::vector<std::string> LiveServers() const;
  bool IsLive(const std::string& address) const;
  // Whether the server's tablets may move to another server (shared data
  // root). Unknown servers: true if every known live server is shared.
  bool IsShared(const std::string& address) const;
  std::vector<TrackedServer> All() const;
  // Start time the server registered (0 if unknown).
  int64_t StartTime(const std::string& address) const;
  // Live servers seen with a new incarnation during this term, not yet handled.
  std::vector<std::string> Restarted() const;
  void DoneRestart(const std::string& address);
  // Size the server last reported for a tablet (0 if unknown).
  uint64_t TabletSize(const std::string& server, const std::string& table,
                      const std::string& id) const;
  void Clear();

 private:
  mutable std::mutex mu_;
  std::map<std::string, TrackedServer> servers_;  // GUARDED_BY(mu_)
  std::map<std::string, bool> restarted_;          // GUARDED_BY(mu_)
};

}  // namespace kdi::masterd

#endif  // KDI_MASTERD_SERVER_TRACKER_H_
