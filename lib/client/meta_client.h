// MetaClient: a typed client for masterd's 2a table-meta interface
// (lib/client/meta_protocol.h), used by kdicli and the tests.
//
// The master is found through the lock service (/kdi/master holds the active
// master's HOST:PORT) when a LockSession is given, or at a fixed address. With a
// session, a call that finds no master, a standby (ServiceUnavailable) or a
// dead connection re-reads /kdi/master and retries until retry_ms has passed,
// so a caller rides through a master failover. Writes are retried only when
// the request was certainly not executed (ServiceUnavailable, connect failure);
// after a NetworkError mid-call a retried CreateTable may answer AlreadyExists.
//
// Ownership: the LockSession (if any) is borrowed and must outlive the client.
// Threading: thread-safe (calls are serialized on an internal mutex).
#ifndef KDI_LIB_CLIENT_META_CLIENT_H_
#define KDI_LIB_CLIENT_META_CLIENT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/status.h"
#include "lib/client/meta_protocol.h"
#include "lib/rpc/channel.h"
#include "lib/rpc/tls.h"

namespace kdi::meta {

class MetaClient {
 public:
  struct Options {
    std::string master_address;              // fixed address; "" = use lock_session
    lock::LockSession* lock_session = nullptr;  // borrowed
    std::shared_ptr<rpc::TlsContext> tls;    // client context (required)
    int64_t timeout_ms = 30000;              // per call
    int64_t retry_ms = 20000;                // how long to look for an active master
  };
  explicit MetaClient(Options options);
  ~MetaClient();

  Status CreateTable(const CreateTableRequest& req, TableInfo* info = nullptr);
  Status DeleteTable(const std::string& name);
  Status AlterTable(const AlterTableRequest& req, TableInfo* info = nullptr);
  Status ListTables(std::vector<std::string>* names);
  Status DescribeTable(const std::string& name, TableInfo* info);
  Status ListTablets(const std::string& table, std::vector<TabletInfo>* tablets);
  Status ListServers(std::vector<ServerInfo>* servers);
  Status Fsck(bool repair, FsckReply* reply);
  Status MasterStatus(MasterStatusInfo* info);

  // The master address the last call went to.
  std::string master_address();

  MetaClient(const MetaClient&) = delete;
  MetaClient& operator=(const MetaClient&) = delete;

 private:
  Status Call(uint16_t type, const std::string& body, std::string* reply);
  Status ResolveLocked();

  Options opts_;
  std::mutex mu_;
  std::string address_;                    // GUARDED_BY(mu_)
  std::unique_ptr<rpc::Channel> channel_;  // GUARDED_BY(mu_)
};

}  // namespace kdi::meta

#endif  // KDI_LIB_CLIENT_META_CLIENT_H_
