// LocationCache: the kdi:// client's cache of where tablets are served.
//
// Entries map a tablet's row range [start_row, end_row) of one table to the
// tablet id and the HOST:PORT of the tabletd serving it, as read from META.
// Inserting an entry removes every cached entry of the same table whose range
// overlaps it (after a split or merge the newest reading of META wins), so
// cached ranges of a table never overlap. Entries are dropped when a server
// says it no longer serves the tablet (Invalidate) or when the whole server
// seems gone (InvalidateServer).
//
// Thread-safe: every method may be called from any thread; one internal mutex.
#ifndef KDI_LIB_CLIENT_LOCATION_CACHE_H_
#define KDI_LIB_CLIENT_LOCATION_CACHE_H_

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace kdi::client {

struct TabletLocation {
  std::string table;
  std::string tablet_id;
  std::string start_row;  // "" = -infinity
  std::string end_row;    // "" = +infinity
  std::string server;     // HOST:PORT

  bool ContainsRow(std::string_view row) const {
    return row >= start_row && (end_row.empty() || row < end_row);
  }
  // "T/ID[start,end)@server" for messages (rows escaped).
  std::string ToString() const;
  bool operator==(const TabletLocation& o) const {
    return table == o.table && tablet_id == o.tablet_id && start_row == o.start_row &&
           end_row == o.end_row && server == o.server;
  }
};

class LocationCache {
 public:
  LocationCache() = default;
  LocationCache(const LocationCache&) = delete;
  LocationCache& operator=(const LocationCache&) = delete;

  // The cached tablet of `table` holding `row`, if any.
  bool Find(const std::string& table, std::string_view row, TabletLocation* out) const;
  // Adds (or replaces) an entry; removes overlapping entries of the same table.
  void Insert(const TabletLocation& loc);
  // Drops the entry for that tablet if it still says the same thing.
  void Invalidate(const TabletLocation& loc);
  // Drops every entry naming `server`.
  void InvalidateServer(const std::string& server);
  void Clear();
  size_t size() const;

 private:
  // Orders end rows with "" (+infinity) last.
  struct EndLess {
    bool operator()(const std::string& a, const std::string& b) const {
      if (a.empty()) return false;
      if (b.empty()) return true;
      return a < b;
    }
  };
  using TableMap = std::map<std::string, TabletLocation, EndLess>;  // by end_row

  mutable std::mutex mu_;
  std::map<std::string, TableMap> tables_;  // GUARDED_BY(mu_)
};

// Escapes non-printable bytes as \xNN (for messages and logs).
std::string PrintableRow(std::string_view row);

}  // namespace kdi::client

#endif  // KDI_LIB_CLIENT_LOCATION_CACHE_H_
