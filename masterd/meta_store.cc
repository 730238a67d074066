// META cache with write-through; see meta_store.h.
#include "masterd/meta_store.h"

#include <chrono>

#include "kdi/scan_predicate.h"

namespace kdi::masterd {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

MetaStore::MetaStore(std::shared_ptr<rpc::TlsContext> client_tls) : tls_(std::move(client_tls)) {}

client::TabletRef MetaStore::MetaRef() const {
  return client::TabletRef{meta::kMetaTableName, meta::kMetaTabletId};
}

void MetaStore::SetMetaServer(const std::string& address) {
  if (address == meta_server_ && client_ != nullptr) return;
  meta_server_ = address;
  client::TabletClient::Options o;
  o.address = address;
  o.tls = tls_;
  o.timeout_ms = 10000;
  client_ = std::make_unique<client::TabletClient>(o);
  rows_.clear();
  loaded_ = false;
}

Status MetaStore::Load() {
  if (client_ == nullptr) return Status::ServiceUnavailable("META has no server yet");
  ScanPredicate all;
  std::unique_ptr<CellStream> stream = client_->OpenScan(MetaRef(), all);
  std::vector<Cell> cells;
  Cell c;
  while (stream->Next(&c)) cells.push_back(c);
  RETURN_NOT_OK_PREPEND(stream->status(), "scanning META at " + meta_server_);
  std::vector<meta::TabletMeta> tablets;
  RETURN_NOT_OK(meta::DecodeTabletRows(cells, &tablets));
  rows_.clear();
  for (auto& t : tablets) rows_[t.row_key()] = std::move(t);
  loaded_ = true;
  return Status::OK();
}

Status MetaStore::Put(const meta::TabletMeta& t) {
  if (client_ == nullptr) return Status::ServiceUnavailable("META has no server yet");
  if (fence_) RETURN_NOT_OK(fence_());
  RowMutation m = meta::EncodeTabletRow(t, NowMicros());
  RETURN_NOT_OK_PREPEND(client_->Apply(MetaRef(), {m}), "writing META row of " + t.table + "/" + t.id);
  RETURN_NOT_OK_PREPEND(client_->Sync(MetaRef()), "syncing META");
  rows_[t.row_key()] = t;
  return Status::OK();
}

Status MetaStore::Delete(const std::string& row_key) {
  if (client_ == nullptr) return Status::ServiceUnavailable("META has no server yet");
  if (fence_) RETURN_NOT_OK(fence_());
  RowMutation m(row_key);
  m.EraseRow();
  RETURN_NOT_OK_PREPEND(client_->Apply(MetaRef(), {m}), "deleting META row");
  RETURN_NOT_OK_PREPEND(client_->Sync(MetaRef()), "syncing META");
  rows_.erase(row_key);
  return Status::OK();
}

std::vector<meta::TabletMeta> MetaStore::TabletsOf(const std::string& table) const {
  std::vector<meta::TabletMeta> out;
  std::string prefix = meta::MetaTablePrefix(table);
  for (auto it = rows_.lower_bound(prefix);
       it != rows_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> MetaStore::Tables() const {
  std::vector<std::string> out;
  for (const auto& [key, t] : rows_) {
    if (out.empty() || out.back() != t.table) out.push_back(t.table);
  }
  return out;
}

const meta::TabletMeta* MetaStore::Find(const std::string& table, const std::string& id) const {
  std::string prefix = meta::MetaTablePrefix(table);
  for (auto it = rows_.lower_bound(prefix);
       it != rows_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (it->second.id == id) return &it->second;
  }
  return nullptr;
}

}  // namespace kdi::masterd
