// Typed 2a client; see meta_client.h.
#include "lib/client/meta_client.h"

#include <chrono>
#include <thread>

namespace kdi::meta {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MetaClient::MetaClient(Options options) : opts_(std::move(options)) {}
MetaClient::~MetaClient() = default;

std::string MetaClient::master_address() {
  std::lock_guard<std::mutex> l(mu_);
  return address_;
}

Status MetaClient::ResolveLocked() {
  std::string addr = opts_.master_address;
  if (addr.empty()) {
    if (opts_.lock_session == nullptr) {
      return Status::InvalidArgument("MetaClient: neither a master address nor a lock session");
    }
    std::unique_ptr<lock::LockHandle> h;
    RETURN_NOT_OK_PREPEND(opts_.lock_session->Open(kMasterLockPath, lock::kRead, 0, &h),
                          "looking up the master in " + std::string(kMasterLockPath));
    RETURN_NOT_OK_PREPEND(h->GetContents(&addr), "reading " + std::string(kMasterLockPath));
    if (addr.empty()) return Status::ServiceUnavailable("no active master yet");
  }
  if (channel_ == nullptr || address_ != addr) {
    rpc::ChannelOptions co;
    co.address = addr;
    co.tls = opts_.tls;
    co.default_timeout_ms = opts_.timeout_ms;
    channel_ = std::make_unique<rpc::Channel>(co);
    address_ = addr;
  }
  return Status::OK();
}

Status MetaClient::Call(uint16_t type, const std::string& body, std::string* reply) {
  std::lock_guard<std::mutex> l(mu_);
  int64_t deadline = NowMs() + opts_.retry_ms;
  bool can_retry = opts_.master_address.empty();
  for (;;) {
    Status s = ResolveLocked();
    bool resolved = s.ok();
    if (resolved) s = channel_->Call(type, body, reply, opts_.timeout_ms);
    if (s.ok() || !can_retry || NowMs() >= deadline) {
      if (!s.ok()) return s.CloneAndPrepend(std::string(MetaMessageName(type)) + " at master " +
                                            (address_.empty() ? "?" : address_));
      return s;
    }
    // Retry only what can't have run (or is read-only).
    bool read_only = type == kMsgListTables || type == kMsgDescribeTable ||
                     type == kMsgListTablets || type == kMsgListServers ||
                     type == kMsgMasterStatus;
    bool retry = !resolved || s.IsServiceUnavailable() ||
                 ((s.IsNetworkError() || s.IsTimedOut()) && read_only) ||
                 (s.IsNetworkError() && s.message().find("connect") != std::string::npos);
    if (!retry) {
      return s.CloneAndPrepend(std::string(MetaMessageName(type)) + " at master " + address_);
    }
    channel_.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

Status MetaClient::CreateTable(const CreateTableRequest& req, TableInfo* info) {
  std::string body, reply;
  EncodeCreateTableRequest(req, &body);
  RETURN_NOT_OK(Call(kMsgCreateTable, body, &reply));
  TableInfo tmp;
  return DecodeTableInfo(reply, info ? info : &tmp);
}

Status MetaClient::DeleteTable(const std::string& name) {
  std::string body, reply;
  EncodeTableNameRequest(TableNameRequest{name}, &body);
  return Call(kMsgDeleteTable, body, &reply);
}

Status MetaClient::AlterTable(const AlterTableRequest& req, TableInfo* info) {
  std::string body, reply;
  EncodeAlterTableRequest(req, &body);
  RETURN_NOT_OK(Call(kMsgAlterTable, body, &reply));
  TableInfo tmp;
  return DecodeTableInfo(reply, info ? info : &tmp);
}

Status MetaClient::ListTables(std::vector<std::string>* names) {
  std::string reply;
  RETURN_NOT_OK(Call(kMsgListTables, "", &reply));
  TableList list;
  RETURN_NOT_OK(DecodeTableList(reply, &list));
  *names = std::move(list.names);
  return Status::OK();
}

Status MetaClient::DescribeTable(const std::string& name, TableInfo* info) {
  std::string body, reply;
  EncodeTableNameRequest(TableNameRequest{name}, &body);
  RETURN_NOT_OK(Call(kMsgDescribeTable, body, &reply));
  return DecodeTableInfo(reply, info);
}

Status MetaClient::ListTablets(const std::string& table, std::vector<TabletInfo>* tablets) {
  std::string body, reply;
  EncodeTableNameRequest(TableNameRequest{table}, &body);
  RETURN_NOT_OK(Call(kMsgListTablets, body, &reply));
  TabletList list;
  RETURN_NOT_OK(DecodeTabletList(reply, &list));
  *tablets = std::move(list.tablets);
  return Status::OK();
}

Status MetaClient::ListServers(std::vector<ServerInfo>* servers) {
  std::string reply;
  RETURN_NOT_OK(Call(kMsgListServers, "", &reply));
  ServerList list;
  RETURN_NOT_OK(DecodeServerList(reply, &list));
  *servers = std::move(list.servers);
  return Status::OK();
}

Status MetaClient::Fsck(bool repair, FsckReply* reply) {
  std::string body, out;
  EncodeFsckRequest(FsckRequest{repair}, &body);
  RETURN_NOT_OK(Call(kMsgFsck, body, &out));
  return DecodeFsckReply(out, reply);
}

Status MetaClient::MasterStatus(MasterStatusInfo* info) {
  std::string reply;
  RETURN_NOT_OK(Call(kMsgMasterStatus, "", &reply));
  return DecodeMasterStatusInfo(reply, info);
}

}  // namespace kdi::meta
