// The production RemoteBackend (see remote_rpc_backend.h).
#include "lib/client/remote_rpc_backend.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "kdi/lock_client.h"
#include "lib/client/remote_table.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/channel_pool.h"
#include "lib/rpc/tls.h"

namespace kdi::client {
namespace {

class RpcBackend : public RemoteBackend {
 public:
  RpcBackend(const RemoteTableOptions& options, std::shared_ptr<rpc::TlsContext> tls)
      : options_(options), tls_(std::move(tls)) {}

  ~RpcBackend() override {
    std::lock_guard<std::mutex> l(mu_);
    root_handle_.reset();
    if (session_ != nullptr) {
      Status s = session_->Close();
      (void)s;
    }
  }

  Status ReadRoot(std::string* server, int64_t timeout_ms) override {
    std::lock_guard<std::mutex> l(mu_);
    RETURN_NOT_OK(EnsureSession());
    if (root_handle_ == nullptr) {
      Status s = session_->Open("/kdi/root", lock::kRead, 0, &root_handle_);
      if (s.IsNotFound()) return Status::ServiceUnavailable("/kdi/root does not exist yet");
      RETURN_NOT_OK(s);
    }
    Status s = root_handle_->GetContents(server);
    if (!s.ok()) {
      root_handle_.reset();
      if (s.IsNotFound()) return Status::ServiceUnavailable("/kdi/root was replaced");
      return s;
    }
    return Status::OK();
  }

  Status ReadSchema(const std::string& table, Schema* schema, int64_t timeout_ms) override {
    std::string contents;
    {
      std::lock_guard<std::mutex> l(mu_);
      RETURN_NOT_OK(EnsureSession());
      std::unique_ptr<lock::LockHandle> h;
      Status s = session_->Open("/kdi/tables/" + table, lock::kRead, 0, &h);
      if (s.IsNotFound()) return Status::NotFound("no such table: " + table);
      RETURN_NOT_OK(s);
      s = h->GetContents(&contents);
      if (s.IsNotFound()) return Status::NotFound("no such table: " + table);
      RETURN_NOT_OK(s);
    }
    return Schema::DecodeFrom(contents, schema);
  }

  // A sync Apply goes as ApplyWithFlags (305). A server older than 305
  // answers NotSupported (unknown message type, nothing applied): it is
  // remembered and the batch goes as a plain Apply, with reply->durable false
  // so that the caller sends its own Sync RPC.
  Status Apply(const std::string& server, const ApplyRequest& req, int64_t timeout_ms,
               ApplyReply* reply) override {
    std::string body, out;
    reply->durable = false;
    if (req.sync && !LacksApplyWithFlags(server)) {
      EncodeApplyWithFlagsRequest(req, &body);
      Status s = Call(server, kMsgApplyWithFlags, body, &out, timeout_ms);
      if (s.ok()) {
        RETURN_NOT_OK(DecodeApplyReply(out, reply));
        reply->durable = true;
        return Status::OK();
      }
      if (s.code() != Status::Code::kNotSupported) return s;
      {
        std::lock_guard<std::mutex> l(channels_mu_);
        no_apply_with_flags_.insert(server);
      }
      body.clear();
      out.clear();
    }
    EncodeApplyRequest(req, &body);
    RETURN_NOT_OK(Call(server, kMsgApply, body, &out, timeout_ms));
    return DecodeApplyReply(out, reply);
  }

  Status ConditionalApply(const std::string& server, const ConditionalApplyRequest& req,
                          int64_t timeout_ms, ApplyReply* reply) override {
    std::string body, out;
    EncodeConditionalApplyRequest(req, &body);
    RETURN_NOT_OK(Call(server, kMsgConditionalApply, body, &out, timeout_ms));
    return DecodeApplyReply(out, reply);
  }

  Status Sync(const std::string& server, const SyncRequest& req, int64_t timeout_ms) override {
    std::string body, out;
    EncodeSyncRequest(req, &body);
    return Call(server, kMsgSync, body, &out, timeout_ms);
  }

  Status ScanPage(const std::string& server, const ScanPageRequest& req, int64_t timeout_ms,
                  ScanPageReply* reply) override {
    std::string body, out;
    EncodeScanPageRequest(req, &body);
    RETURN_NOT_OK(Call(server, kMsgScanPage, body, &out, timeout_ms));
    return DecodeScanPageReply(out, reply);
  }

  Status GetRowRevision(const std::string& server, const RowRevisionRequest& req,
                        int64_t timeout_ms, RowRevisionReply* reply) override {
    std::string body, out;
    EncodeRowRevisionRequest(req, &body);
    RETURN_NOT_OK(Call(server, kMsgGetRowRevision, body, &out, timeout_ms));
    return DecodeRowRevisionReply(out, reply);
  }

 private:
  // REQUIRES: mu_ held.
  Status EnsureSession() {
    if (session_ != nullptr) {
      lock::SessionState st = session_->state();
      if (st != lock::SessionState::kExpired && st != lock::SessionState::kClosed) {
        return Status::OK();
      }
      root_handle_.reset();
      session_.reset();
    }
    lock::LockSessionOptions o;
    o.service = options_.lockd_address;
    o.tls_ca_file = options_.tls_ca_file;
    o.tls_cert_file = options_.tls_cert_file;
    o.tls_key_file = options_.tls_key_file;
    o.op_timeout_ms = options_.rpc_timeout_ms;
    Status s = lock::OpenLockSession(o, &session_);
    if (!s.ok()) {
      session_.reset();
      return s.CloneAndPrepend("connecting to lockd at " + options_.lockd_address);
    }
    return Status::OK();
  }

  bool LacksApplyWithFlags(const std::string& server) {
    std::lock_guard<std::mutex> l(channels_mu_);
    return no_apply_with_flags_.count(server) != 0;
  }

  // The channel to server of the calling thread: one of
  // connections_per_server, each with its own client I/O thread (see
  // ChannelPool); with caller_io a call made while no other call of that
  // channel is in progress does its own I/O (rpc/blocking_connection.h).
  rpc::Channel* ChannelFor(const std::string& server) {
    std::lock_guard<std::mutex> l(channels_mu_);
    std::unique_ptr<rpc::ChannelPool>& pool = channels_[server];
    if (pool == nullptr) {
      rpc::ChannelOptions o;
      o.address = server;
      o.tls = tls_;
      o.default_timeout_ms = options_.rpc_timeout_ms;
      o.blocking_calls_on_caller = options_.caller_io;
      pool = std::make_unique<rpc::ChannelPool>(o, options_.connections_per_server);
    }
    return pool->ForCallingThread();
  }

  Status Call(const std::string& server, uint16_t type, const std::string& body,
              std::string* reply, int64_t timeout_ms) {
    if (server.empty()) return Status::ServiceUnavailable("no server address");
    return ChannelFor(server)->Call(type, body, reply, timeout_ms);
  }

  const RemoteTableOptions options_;
  const std::shared_ptr<rpc::TlsContext> tls_;

  std::mutex mu_;
  std::unique_ptr<lock::LockSession> session_;      // GUARDED_BY(mu_)
  std::unique_ptr<lock::LockHandle> root_handle_;   // GUARDED_BY(mu_)

  std::mutex channels_mu_;
  // Pools are never removed while the backend lives (ChannelFor's pointer
  // stays valid).
  std::map<std::string, std::unique_ptr<rpc::ChannelPool>> channels_;  // GUARDED_BY(channels_mu_)
  // Servers that answered ApplyWithFlags with NotSupported (older tabletds).
  std::set<std::string> no_apply_with_flags_;  // GUARDED_BY(channels_mu_)
};

}  // namespace

Status CreateRpcBackend(const RemoteTableOptions& options,
                        std::shared_ptr<RemoteBackend>* out) {
  if (options.tls_ca_file.empty() || options.tls_cert_file.empty() ||
      options.tls_key_file.empty()) {
    return Status::InvalidArgument(
        "kdi:// needs TLS credentials: set tls_ca_file, tls_cert_file and tls_key_file in "
        "[global] of kdi.conf (found through KDI_CONF) or as URI parameters");
  }
  rpc::TlsOptions t;
  t.ca_file = options.tls_ca_file;
  t.cert_file = options.tls_cert_file;
  t.key_file = options.tls_key_file;
  std::shared_ptr<rpc::TlsContext> tls;
  RETURN_NOT_OK_PREPEND(rpc::TlsContext::CreateClient(t, &tls), "loading TLS credentials");
  *out = std::make_shared<RpcBackend>(options, std::move(tls));
  return Status::OK();
}

namespace {

// The process-wide registry of shared backends. Leaked on purpose: tables
// may still be open while static destructors run at exit.
std::mutex& SharedMu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
std::map<std::string, std::weak_ptr<RemoteBackend>>& SharedBackends() {
  static auto* m = new std::map<std::string, std::weak_ptr<RemoteBackend>>;
  return *m;
}

std::string SharingKey(const RemoteTableOptions& o) {
  std::string key;
  for (const std::string& part : {o.lockd_address, o.tls_ca_file, o.tls_cert_file,
                                  o.tls_key_file, std::to_string(o.rpc_timeout_ms),
                                  std::to_string(o.connections_per_server),
                                  std::to_string(o.caller_io)}) {
    key += part;
    key.push_back('\0');
  }
  return key;
}

}  // namespace

Status SharedRpcBackend(const RemoteTableOptions& options,
                        std::shared_ptr<RemoteBackend>* out) {
  const std::string key = SharingKey(options);
  std::lock_guard<std::mutex> l(SharedMu());
  auto& backends = SharedBackends();
  for (auto it = backends.begin(); it != backends.end();) {
    it = it->second.expired() ? backends.erase(it) : std::next(it);
  }
  auto it = backends.find(key);
  if (it != backends.end()) {
    if (std::shared_ptr<RemoteBackend> b = it->second.lock()) {
      *out = std::move(b);
      return Status::OK();
    }
  }
  std::shared_ptr<RemoteBackend> b;
  RETURN_NOT_OK(CreateRpcBackend(options, &b));
  backends[key] = b;
  *out = std::move(b);
  return Status::OK();
}

size_t SharedRpcBackendCount() {
  std::lock_guard<std::mutex> l(SharedMu());
  size_t n = 0;
  for (const auto& [key, w] : SharedBackends()) n += !w.expired();
  return n;
}

// Defined here rather than in remote_table.cc so that the retry and caching
// logic links without the RPC and lock-service layers (unit tests with fakes).
Status RemoteTable::Open(const std::string& uri, const TableOptions& table_options,
                         std::unique_ptr<Table>* out) {
  RemoteTableOptions options;
  RETURN_NOT_OK(ParseRemoteUri(uri, &options));
  if (table_options.schema.has_value()) {
    return Status::InvalidArgument(
        "a kdi:// table's schema is set by the cluster (kdicli create/alter), not by "
        "TableOptions::schema");
  }
  options.scan_page_cells = static_cast<uint32_t>(
      std::clamp<size_t>(table_options.scan_page_cells, 1, kMaxScanPageCells));
  options.scan_page_bytes = std::clamp<uint64_t>(table_options.scan_page_bytes, 1,
                                                 kMaxScanPageBytes);
  // Messages name the table without the URI's parameters (paths of keys).
  std::string name = "kdi://" + options.lockd_address + "/" + options.table;
  std::shared_ptr<RemoteBackend> backend;
  RETURN_NOT_OK_PREPEND(SharedRpcBackend(options, &backend), name);
  std::unique_ptr<RemoteTable> table;
  RETURN_NOT_OK_PREPEND(OpenWithBackend(std::move(backend), options, &table), name);
  *out = std::move(table);
  return Status::OK();
}

}  // namespace kdi::client
