// Live tablet servers; see server_tracker.h.
#include "masterd/server_tracker.h"

#include <sstream>

#include "lib/client/meta_layout.h"

namespace kdi::masterd {

Status ServerTracker::Refresh(lock::LockSession* session) {
  std::unique_ptr<lock::LockHandle> dir;
  Status s = session->Open(meta::kServersDir, lock::kRead, 0, &dir);
  std::vector<std::string> names;
  if (s.IsNotFound()) {
    names.clear();
  } else {
    RETURN_NOT_OK_PREPEND(s, "opening /kdi/servers");
    RETURN_NOT_OK_PREPEND(dir->ReadDirectory(&names), "listing /kdi/servers");
  }
  struct Seen {
    bool live;
    std::string contents;
    uint64_t owner;
  };
  std::map<std::string, Seen> seen;
  for (const auto& name : names) {
    std::unique_ptr<lock::LockHandle> h;
    lock::NodeStat st;
    std::string contents;
    if (!session->Open(meta::ServerPath(name), lock::kRead, 0, &h).ok()) continue;
    if (!h->GetContents(&contents, &st).ok()) continue;
    seen[name] = Seen{st.lock_mode == lock::LockMode::kExclusive, contents, st.ephemeral_owner};
  }
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [addr, srv] : servers_) srv.live = seen.count(addr) && seen[addr].live;
  for (auto& [addr, info] : seen) {
    TrackedServer& srv = servers_[addr];
    srv.address = addr;
    srv.live = info.live;
    if (info.live && info.owner != 0) {
      if (srv.incarnation != 0 && srv.incarnation != info.owner) restarted_[addr] = true;
      srv.incarnation = info.owner;
    }
    // "HOST:PORT start_time_us data_root shared|local"
    std::istringstream in(info.contents);
    std::string a, start, root, mode;
    if (in >> a >> start >> root >> mode) {
      srv.start_time_us = strtoll(start.c_str(), nullptr, 10);
      srv.data_root = root;
      srv.shared_data = mode == "shared";
      srv.shared_known = true;
    }
  }
  return Status::OK();
}

void ServerTracker::OnKeepAlive(const client::ServerStatusInfo& status, int64_t now_us) {
  std::lock_guard<std::mutex> l(mu_);
  TrackedServer& srv = servers_[status.address];
  srv.address = status.address;
  srv.last_keepalive_us = now_us;
  srv.last_status = status;
  if (!srv.shared_known) {
    srv.shared_data = status.shared_data;
    srv.data_root = status.data_root;
    srv.shared_known = true;
  }
}

std::vector<std::string> ServerTracker::LiveServers() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [addr, srv] : servers_) {
    if (srv.live) out.push_back(addr);
  }
  return out;
}

bool ServerTracker::IsLive(const std::string& address) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = servers_.find(address);
  return it != servers_.end() && it->second.live;
}

bool ServerTracker::IsShared(const std::string& address) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = servers_.find(address);
  if (it != servers_.end() && it->second.shared_known) return it->second.shared_data;
  bool any = false;
  for (const auto& [addr, srv] : servers_) {
    if (!srv.live || !srv.shared_known) continue;
    if (!srv.shared_data) return false;
    any = true;
  }
  return any;
}

std::vector<TrackedServer> ServerTracker::All() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<TrackedServer> out;
  for (const auto& [addr, srv] : servers_) out.push_back(srv);
  return out;
}

uint64_t ServerTracker::TabletSize(const std::string& server, const std::string& table,
                                   const std::string& id) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = servers_.find(server);
  if (it == servers_.end()) return 0;
  for (const auto& t : it->second.last_status.tablets) {
    if (t.desc.tablet.table == table && t.desc.tablet.tablet_id == id) return t.size_bytes;
  }
  return 0;
}

int64_t ServerTracker::StartTime(const std::string& address) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = servers_.find(address);
  return it == servers_.end() ? 0 : it->second.start_time_us;
}

std::vector<std::string> ServerTracker::Restarted() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  for (const auto& [addr, pending] : restarted_) {
    auto it = servers_.find(addr);
    if (pending && it != servers_.end() && it->second.live) out.push_back(addr);
  }
  return out;
}

void ServerTracker::DoneRestart(const std::string& address) {
  std::lock_guard<std::mutex> l(mu_);
  restarted_.erase(address);
}

void ServerTracker::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  servers_.clear();
  restarted_.clear();
}

}  // namespace kdi::masterd
