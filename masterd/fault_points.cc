// Fault points; see fault_points.h.
#include "masterd/fault_points.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "lib/util/log.h"

namespace kdi::masterd {

namespace {
std::atomic<bool> g_armed{false};
std::string g_point;  // written once before g_armed is set
bool g_stop = false;  // ":stop": SIGSTOP instead of exiting
std::atomic<bool> g_fired{false};
}  // namespace

const std::vector<std::string>& KnownFaultPoints() {
  static const std::vector<std::string> points = {
      "bootstrap-after-load",    // META loaded on a tabletd, /kdi/root not yet written
      "create-after-rows",       // createTable: META rows written, schema not yet
      "after-meta-assigning",    // assignment: META says assigning, LoadTablet not sent
      "after-load-before-meta",  // assignment: tablet loaded, META not yet "assigned"
      "split-after-intent",      // split: parent row marked splitting
      "split-after-left",        // split: left child row written, parent not rewritten
      "split-after-meta",        // split: both children recorded, report not acked
      "delete-after-unload",     // deleteTable: a tablet unloaded, its row not deleted
      "reassign-after-unassign", // server failure: tablet marked unassigned, not reloaded
      "move-after-meta-assigning", // balancer: META says assigning@target, no MigrateTablet yet
      "move-after-migrate",      // balancer: tablet migrated, META not yet "assigned"
  };
  return points;
}

bool SetFaultPoint(const std::string& name) {
  if (name.empty()) {
    g_armed.store(false);
    return true;
  }
  std::string point = name;
  bool stop = false;
  size_t colon = name.find(':');
  if (colon != std::string::npos) {
    if (name.substr(colon + 1) != "stop") return false;
    point = name.substr(0, colon);
    stop = true;
  }
  for (const auto& p : KnownFaultPoints()) {
    if (p == point) {
      g_point = point;
      g_stop = stop;
      g_armed.store(true);
      return true;
    }
  }
  return false;
}

void FaultPoint(const char* name) {
  if (!g_armed.load(std::memory_order_relaxed)) return;
  if (g_point != name) return;
  if (g_stop) {
    if (g_fired.exchange(true)) return;
    KDI_LOG(WARN, "masterd") << "fault point " << name << " reached: stopping (SIGSTOP)";
    raise(SIGSTOP);
    KDI_LOG(WARN, "masterd") << "fault point " << name << ": continued";
    return;
  }
  KDI_LOG(WARN, "masterd") << "fault point " << name << " reached: exiting now";
  _exit(kFaultExitCode);
}

}  // namespace kdi::masterd
