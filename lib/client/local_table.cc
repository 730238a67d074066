// LocalTable and its CellStream, paging through Tablet::ScanPage.
#include "lib/client/local_table.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace kdi::client {

namespace {

class LocalCellStream : public CellStream {
 public:
  LocalCellStream(storage::Tablet* tablet, ScanPredicate predicate, storage::ScanLimits limits)
      : tablet_(tablet), predicate_(std::move(predicate)), limits_(limits) {}

  bool Next(Cell* cell) override {
    while (pos_ >= page_.cells.size()) {
      if (!status_.ok() || page_.done) return false;
      std::string token = std::move(page_.resume_token);
      status_ = tablet_->ScanPage(predicate_, token, limits_, &page_);
      pos_ = 0;
      if (!status_.ok()) return false;
    }
    // Swap rather than move: the caller's previous cell goes back into the page,
    // whose strings ScanPage then reuses (no allocation per cell).
    std::swap(*cell, page_.cells[pos_++]);
    return true;
  }

  Status status() const override { return status_; }

 private:
  storage::Tablet* tablet_;
  ScanPredicate predicate_;
  storage::ScanLimits limits_;
  storage::ScanPageResult page_;  // page_.done false initially: first call fetches
  size_t pos_ = 0;
  Status status_;
};

}  // namespace

LocalTable::LocalTable(std::unique_ptr<storage::Tablet> tablet, const TableOptions& options,
                       std::string temp_dir)
    : tablet_(std::move(tablet)), options_(options), temp_dir_(std::move(temp_dir)) {}

LocalTable::~LocalTable() { (void)Close(); }

Status LocalTable::Open(const std::string& dir_in, const TableOptions& options,
                        std::unique_ptr<Table>* out) {
  std::string dir = dir_in, temp_dir;
  if (dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kdi-mem-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) return ErrnoToStatus("mem: creating " + tmpl, errno);
    temp_dir = tmpl;
    dir = tmpl + "/tablet";
  }
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  storage::TabletOptions topts;
  topts.cache_bytes = options.cache_bytes;
  // Acknowledged writes not yet in the B-tree: a fifth of the cache's size,
  // between 1 and 32 MiB (about what a tabletd gives a tablet with this cache:
  // an eighth of its share, where the cache is about two thirds).
  topts.write_buffer_bytes = std::clamp<size_t>(options.cache_bytes / 5, 1u << 20, 32u << 20);
  // Point reads of hot small rows: what a tabletd gives a tablet with this
  // cache (a thirty-second of its share, which is about a twentieth of the
  // cache), at most 8 MiB.
  topts.row_cache_bytes = std::min<size_t>(options.cache_bytes / 20, 8u << 20);
  topts.max_value_bytes = options.max_value_bytes;
  std::unique_ptr<storage::Tablet> tablet;
  Status s = storage::Tablet::Open(dir, topts, &tablet);
  if (s.IsNotFound() && options.create_if_missing) {
    storage::TabletMeta meta;
    size_t slash = dir.find_last_of('/');
    meta.table = slash == std::string::npos ? dir : dir.substr(slash + 1);
    meta.schema = options.schema ? *options.schema : Schema::AcceptAny();
    s = storage::Tablet::Create(dir, meta, topts, &tablet);
  } else if (s.ok() && options.schema && *options.schema != tablet->meta().schema) {
    s = tablet->SetSchema(*options.schema);
  }
  if (!s.ok()) {
    tablet.reset();
    if (!temp_dir.empty()) (void)storage::Env::Default()->RemoveTree(temp_dir);
    return s.CloneAndPrepend(temp_dir.empty() ? "local:" + dir : "mem:");
  }
  out->reset(new LocalTable(std::move(tablet), options, temp_dir));
  return Status::OK();
}

Status LocalTable::ApplyBatch(const std::vector<RowMutation>& batch) {
  return tablet_->Apply(batch, nullptr);
}

Status LocalTable::ApplyIf(const std::vector<Condition>& conditions, const RowMutation& mutation,
                           uint64_t* revision) {
  return tablet_->ApplyIf(conditions, mutation, revision);
}

Status LocalTable::GetRowRevision(std::string_view row, uint64_t* revision) {
  return tablet_->GetRowRevision(row, revision);
}

Status LocalTable::Sync() { return tablet_->Sync(); }

Status LocalTable::Scan(const ScanPredicate& predicate, std::unique_ptr<CellStream>* out) {
  storage::ScanLimits limits;
  limits.max_cells = options_.scan_page_cells;
  limits.max_bytes = options_.scan_page_bytes;
  out->reset(new LocalCellStream(tablet_.get(), predicate, limits));
  return Status::OK();
}

Status LocalTable::GetSchema(Schema* schema) {
  *schema = tablet_->meta().schema;
  return Status::OK();
}

Status LocalTable::Close() {
  Status s = tablet_->Close();
  if (!temp_dir_.empty()) {
    Status r = storage::Env::Default()->RemoveTree(temp_dir_);
    temp_dir_.clear();
    if (s.ok()) s = r;
  }
  return s;
}

}  // namespace kdi::client
