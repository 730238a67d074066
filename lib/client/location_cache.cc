// LocationCache (see location_cache.h).
#include "lib/client/location_cache.h"

#include <iterator>

namespace kdi::client {

std::string PrintableRow(std::string_view row) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : row) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string TabletLocation::ToString() const {
  return table + "/" + tablet_id + "[" + PrintableRow(start_row) + "," +
         (end_row.empty() ? std::string("+inf") : PrintableRow(end_row)) + ")@" +
         (server.empty() ? std::string("-") : server);
}

bool LocationCache::Find(const std::string& table, std::string_view row,
                         TabletLocation* out) const {
  std::lock_guard<std::mutex> l(mu_);
  auto t = tables_.find(table);
  if (t == tables_.end()) return false;
  // First tablet whose end is > row.
  // "" is below every row: the first tablet holds it.
  auto it = row.empty() ? t->second.begin() : t->second.upper_bound(std::string(row));
  if (it == t->second.end() || !it->second.ContainsRow(row)) return false;
  *out = it->second;
  return true;
}

void LocationCache::Insert(const TabletLocation& loc) {
  std::lock_guard<std::mutex> l(mu_);
  TableMap& m = tables_[loc.table];
  // Remove overlapping entries: those with end > loc.start and start < loc.end.
  auto it = loc.start_row.empty() ? m.begin() : m.upper_bound(loc.start_row);
  while (it != m.end()) {
    const TabletLocation& e = it->second;
    bool starts_before_end = loc.end_row.empty() || e.start_row < loc.end_row;
    if (!starts_before_end) break;
    it = m.erase(it);
  }
  m[loc.end_row] = loc;
}

void LocationCache::Invalidate(const TabletLocation& loc) {
  std::lock_guard<std::mutex> l(mu_);
  auto t = tables_.find(loc.table);
  if (t == tables_.end()) return;
  auto it = t->second.find(loc.end_row);
  if (it != t->second.end() && it->second.tablet_id == loc.tablet_id &&
      it->second.server == loc.server) {
    t->second.erase(it);
  }
}

void LocationCache::InvalidateServer(const std::string& server) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& [name, m] : tables_) {
    for (auto it = m.begin(); it != m.end();) {
      it = it->second.server == server ? m.erase(it) : std::next(it);
    }
  }
}

void LocationCache::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  tables_.clear();
}

size_t LocationCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [name, m] : tables_) n += m.size();
  return n;
}

}  // namespace kdi::client
