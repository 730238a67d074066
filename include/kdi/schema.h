// kdi::Schema: the column families of a table and their retention and
// compression settings.
//
// A column's family is the part of the column before the first ':'. Mutations
// naming a family the schema does not have are refused (InvalidArgument), unless
// the schema has the wildcard family "*", whose settings then apply to every
// family not listed (Schema::AcceptAny() is just that).
//
// Per family:
//   max_versions     keep only the N newest versions of each (row, column);
//                    0 = unlimited.
//   max_age_seconds  a version whose timestamp is older than now - max_age is
//                    expired (TTL); 0 = forever.
//   compression      kNone or kZlib (values are stored deflated when that helps).
// Versions beyond the limits are never returned by scans. Versions beyond
// max_versions are removed when a newer version of the same (row, column) is
// written into the tablet's B-tree; expired versions (and versions beyond a
// max_versions lowered later) are removed by compaction.
//
// Text form (what kdicli's --family takes and describe prints): families separated
// by spaces, each  NAME[:versions=N][:ttl=SECONDS][:compress=zlib|none]
//   e.g.  "word:versions=3:compress=zlib  meta:ttl=86400  *"
// Binary form (EncodeTo/DecodeFrom) for the wire and for tablet metadata:
//   u8 version(=1), varint32 count, count x { lp name, varint32 max_versions,
//   varsint64 max_age_seconds, u8 compression }.
//
// Schema is a value type; a const Schema may be read from any number of threads.
#ifndef KDI_SCHEMA_H_
#define KDI_SCHEMA_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi {

enum class Compression : uint8_t { kNone = 0, kZlib = 1 };

struct FamilyOptions {
  std::string name;  // non-empty, no ':'; "*" is the wildcard
  uint32_t max_versions = 0;
  int64_t max_age_seconds = 0;
  Compression compression = Compression::kNone;

  // "NAME[:versions=N][:ttl=S][:compress=zlib]" (defaults omitted).
  std::string ToString() const;
  // Parses the form above (also accepts compress=none).
  static Status Parse(std::string_view spec, FamilyOptions* out);
  bool operator==(const FamilyOptions& o) const;
  bool operator!=(const FamilyOptions& o) const { return !(*this == o); }
};

class Schema {
 public:
  static constexpr char kWildcard[] = "*";
  static constexpr uint32_t kMaxFamilies = 1024;

  // No families: accepts nothing until families are added.
  Schema() = default;
  // Only the wildcard family with no limits: accepts any column.
  static Schema AcceptAny();

  // InvalidArgument for a bad name, a duplicate or a negative age.
  Status AddFamily(const FamilyOptions& family);
  // Settings for a family name: the family's own, else the wildcard's, else null.
  const FamilyOptions* FindFamily(std::string_view family) const;
  // Settings for the family of a column (see ColumnFamily in kdi/cell.h).
  const FamilyOptions* FindFamilyOfColumn(std::string_view column) const;
  const std::vector<FamilyOptions>& families() const { return families_; }
  bool empty() const { return families_.empty(); }

  std::string ToString() const;
  static Status Parse(std::string_view text, Schema* out);

  void EncodeTo(std::string* dst) const;
  // Corruption/ProtocolError-free contract: any bad input gives InvalidArgument.
  static Status DecodeFrom(std::string_view src, Schema* out);

  bool operator==(const Schema& o) const { return families_ == o.families_; }
  bool operator!=(const Schema& o) const { return !(*this == o); }

 private:
  std::vector<FamilyOptions> families_;  // in the order added
};

}  // namespace kdi

#endif  // KDI_SCHEMA_H_
