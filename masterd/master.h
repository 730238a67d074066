// Master: the active/standby state machine of masterd and everything the
// active master does (DESIGN.md §5, doc/masterd.md).
//
// - Election (election.cc): an election thread opens a lock-service session and
//   blocks on the exclusive lock /kdi/master; when it gets it, it writes this
//   master's address there, rebuilds its view from META and lockd (never from
//   an old master) and runs the control loop. Session jeopardy stops every
//   action at once (acting() turns false: 2a requests get ServiceUnavailable,
//   the loop stops assigning); expiry ends the term, drops all state and the
//   thread campaigns again with a new session.
// - Fencing (election.cc, Fence()): before every META write and every order
//   to a tabletd (load, unload, migrate) the master checks that its session is
//   safe and asks lockd whether its /kdi/master sequencer is still current; if
//   not it ends the term at once without sending anything.
// - Control loop (assigner.cc): every masterd_reconcile_interval_ms (or when
//   kicked) re-reads /kdi/servers and drives every tablet row toward
//   "assigned to a live server", finishing or undoing whatever a dead master
//   left half done (state machine in doc/masterd.md).
// - Table meta (table_ops.cc): create/delete/alter/list/describe, fsck.
// - Master sessions (assigner.cc): keepAlive and split reports from tabletds.
//
// Threading: the election thread owns the lock session's lifetime. Every
// operation that changes META or talks to tabletds holds op_mu_ for its whole
// duration (operations are few and the lock keeps the state machine simple);
// read-only views take op_mu_ too, briefly. acting_ is atomic so that the
// session event thread can clear it without waiting for an operation.
#ifndef KDI_MASTERD_MASTER_H_
#define KDI_MASTERD_MASTER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kdi/lock_client.h"
#include "kdi/schema.h"
#include "kdi/status.h"
#include "lib/client/admin_protocol.h"
#include "lib/client/meta_protocol.h"
#include "lib/client/tablet_client.h"
#include "lib/rpc/tls.h"
#include "masterd/meta_store.h"
#include "masterd/server_tracker.h"

namespace kdi::masterd {

struct MasterOptions {
  std::string address;         // advertised HOST:PORT (written to /kdi/master)
  std::string lockd_address;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  std::shared_ptr<rpc::TlsContext> client_tls;  // for talking to tabletds
  int64_t reconcile_interval_ms = 200;
  int64_t load_timeout_ms = 10000;
  int64_t create_wait_ms = 10000;  // createTable waits this long for assignment
  bool balance = false;
  int64_t balance_interval_ms = 10000;
};

class Master {
 public:
  explicit Master(MasterOptions opts);
  ~Master();  // Stop()s

  // REQUIRES: before Start().
  void set_address(const std::string& address) { opts_.address = address; }
  void Start();
  void Stop();

  // True while this master holds /kdi/master, its session is safe and its view
  // is rebuilt.
  bool acting() const { return acting_.load(); }
  // ServiceUnavailable naming the active master, unless acting().
  Status CheckActing() const;

  // ---- 2a (table_ops.cc) ------------------------------------------------------
  Status CreateTable(const meta::CreateTableRequest& req, meta::TableInfo* info);
  Status DeleteTable(const std::string& name);
  Status AlterTable(const meta::AlterTableRequest& req, meta::TableInfo* info);
  Status ListTables(meta::TableList* list);
  Status DescribeTable(const std::string& name, meta::TableInfo* info);
  Status ListTablets(const std::string& table, meta::TabletList* list);
  Status ListServers(meta::ServerList* list);
  Status Fsck(bool repair, meta::FsckReply* reply);
  void GetStatus(meta::MasterStatusInfo* info);

  // ---- 600 (assigner.cc) --------------------------------------------------------
  Status OnKeepAlive(const client::ServerStatusInfo& status, client::KeepAliveReply* reply);
  Status OnSplitReport(const client::SplitInfo& info);

  Master(const Master&) = delete;
  Master& operator=(const Master&) = delete;

 private:
  // election.cc
  void ElectionLoop();
  Status Campaign();           // one term: session, lock, rebuild, control loop
  void OnLockEvent(const lock::Event& e);
  Status TakeOver();           // REQUIRES: op_mu_ held
  Status EnsureMetaServed();   // REQUIRES: op_mu_ held
  Status ReadNode(const std::string& path, std::string* contents, bool* exists);
  Status WriteNode(const std::string& path, const std::string& contents);
  // OK while this master's term is current (session safe and its /kdi/master
  // sequencer still valid at lockd); otherwise ends the term and fails.
  Status Fence();

  // assigner.cc (REQUIRES: op_mu_ held for all)
  void ControlLoop();
  Status ReconcileOnce();
  Status ReconcileTablet(meta::TabletMeta t);
  Status Assign(meta::TabletMeta t, const std::string& server);
  // The live server for a new assignment of a tablet of `table` (empty: META):
  // the one with the fewest tablets of that table, then the fewest tablets in
  // all (META's own tablet counts), then the lowest address; "" if none is live.
  std::string PickServer(const std::string& table = "") const;
  Status FinishSplit(const meta::TabletMeta& parent, const std::string& left_dir,
                     const std::string& right_dir);
  Status LoadSchema(const std::string& table, Schema* schema, bool* exists);
  // Reloads every tablet that META says a restarted server serves (its
  // start time changed since the assignment): a restarted tabletd serves none.
  Status ReloadOnRestartedServers();
  // Sends a table's new schema to the servers of its assigned tablets
  // (LoadTablet of a served tablet replaces its schema in place).
  void PushSchema(const std::string& table, const Schema& schema);
  client::TabletClient* Tserver(const std::string& address);
  void BalanceOnce();

  // table_ops.cc
  Status ListTableSchemas(std::vector<std::string>* names);  // tables that exist
  Status FinishDelete(const std::string& table);
  Status TableHasFamilyData(const std::string& table, const std::string& family, bool* has);
  void FillTableInfo(const std::string& name, const Schema& schema, meta::TableInfo* info);
  std::string NewTabletId();

  void Kick();

  MasterOptions opts_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> acting_{false};   // see acting()
  std::atomic<bool> term_lost_{false};
  std::thread election_thread_;

  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool kicked_ = false;  // GUARDED_BY(wake_mu_)

  // Lifetime: set by the election thread at the start of a term, reset at its
  // end while holding op_mu_.
  std::mutex op_mu_;
  std::unique_ptr<lock::LockSession> session_;    // GUARDED_BY(op_mu_)
  std::unique_ptr<lock::LockHandle> master_lock_; // GUARDED_BY(op_mu_)
  std::string master_sequencer_;                  // GUARDED_BY(op_mu_)
  MetaStore meta_;                                // GUARDED_BY(op_mu_)
  ServerTracker servers_;
  std::map<std::string, std::unique_ptr<client::TabletClient>> tservers_;  // GUARDED_BY(op_mu_)
  uint64_t id_counter_ = 0;        // GUARDED_BY(op_mu_)
  int64_t last_balance_us_ = 0;    // GUARDED_BY(op_mu_)

  mutable std::mutex info_mu_;
  std::string active_master_;  // GUARDED_BY(info_mu_): last known /kdi/master
};

}  // namespace kdi::masterd

#endif  // KDI_MASTERD_MASTER_H_
