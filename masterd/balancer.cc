// Load balancing: at most one move per masterd_balance_interval_ms, from the
// server with the most tablets to the one with the fewest, when they differ by
// two or more and every live server shares the data root. A move is recorded
// like an assignment (assigning@target before, assigned@target after) and done
// with the migration interface (MigrateTablet to the source), so a master that
// dies in the middle leaves "assigning@target", which the next master finishes
// by unloading the tablet from the source and loading it on the target.
#include <algorithm>
#include <map>

#include "lib/client/meta_layout.h"
#include "lib/util/log.h"
#include "masterd/fault_points.h"
#include "masterd/master.h"

namespace kdi::masterd {

using meta::TabletMeta;
using meta::TabletState;

void Master::BalanceOnce() {
  std::vector<std::string> live = servers_.LiveServers();
  if (live.size() < 2) return;
  std::map<std::string, std::vector<const TabletMeta*>> by_server;
  for (const auto& s : live) {
    if (!servers_.IsShared(s)) return;  // moves need a shared data root
    by_server[s];
  }
  for (const auto& [key, t] : meta_.rows()) {
    if (t.state != TabletState::kAssigned) {
      if (t.state != TabletState::kUnloading) return;  // settle transitions first
      continue;
    }
    auto it = by_server.find(t.server);
    if (it != by_server.end()) it->second.push_back(&t);
  }
  std::string busiest, idlest;
  size_t most = 0, fewest = SIZE_MAX;
  for (const auto& [s, ts] : by_server) {
    if (ts.size() > most || busiest.empty()) {
      most = ts.size();
      busiest = s;
    }
    if (ts.size() < fewest) {
      fewest = ts.size();
      idlest = s;
    }
  }
  if (busiest == idlest || most < fewest + 2) return;
  TabletMeta t = *by_server[busiest].back();
  KDI_LOG(INFO, "masterd") << "balancer: moving " << t.table << "/" << t.id << " from "
                           << busiest << " (" << most << " tablets) to " << idlest << " ("
                           << fewest << ")";
  t.state = TabletState::kAssigning;
  t.server = idlest;
  if (!meta_.Put(t).ok()) return;
  MASTERD_FAULT("move-after-meta-assigning");
  if (!Fence().ok()) return;
  client::MigrateTabletRequest req;
  req.tablet = client::TabletRef{t.table, t.id};
  req.target_address = idlest;
  client::MigrateTabletReply reply;
  Status s = Tserver(busiest)->MigrateTablet(req, &reply);
  if (!s.ok()) {
    KDI_LOG(WARN, "masterd") << "balancer: move of " << t.table << "/" << t.id
                             << " failed: " << s.ToString() << "; the control loop settles it";
    return;  // assigning@idlest: the next round loads it there (or finds it)
  }
  MASTERD_FAULT("move-after-migrate");
  t.state = TabletState::kAssigned;
  t.since_us = std::max(NowMicros(), servers_.StartTime(idlest) + 1);
  (void)meta_.Put(t);
}

}  // namespace kdi::masterd
