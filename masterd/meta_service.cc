// 2a and 600-block handlers; see meta_service.h.
#include "masterd/meta_service.h"

#include "lib/client/admin_protocol.h"
#include "lib/client/meta_protocol.h"
#include "lib/util/log.h"

namespace kdi::masterd {

namespace {

using rpc::ResponderPtr;
using rpc::Role;
using rpc::RoleSet;

const RoleSet kWriters({Role::kAdmin, Role::kServer});
const RoleSet kServers({Role::kServer});

void ReplyStatus(const ResponderPtr& r, const Status& s, const char* what) {
  if (!s.ok() && !s.IsServiceUnavailable()) {
    KDI_LOG(INFO, "masterd") << what << " from " << r->peer().principal << ": " << s.ToString();
  }
  r->Reply(s);
}

}  // namespace

void RegisterMetaService(rpc::Server* server, Master* m) {
  server->Register(meta::kMsgCreateTable, [m](std::string body, ResponderPtr r) {
    meta::CreateTableRequest req;
    Status s = meta::DecodeCreateTableRequest(body, &req);
    meta::TableInfo info;
    if (s.ok()) s = m->CreateTable(req, &info);
    if (!s.ok()) return ReplyStatus(r, s, "CreateTable");
    std::string out;
    meta::EncodeTableInfo(info, &out);
    r->Reply(s, out);
  }, rpc::Dispatch::kWorker, kWriters);

  server->Register(meta::kMsgDeleteTable, [m](std::string body, ResponderPtr r) {
    meta::TableNameRequest req;
    Status s = meta::DecodeTableNameRequest(body, &req);
    if (s.ok()) s = m->DeleteTable(req.name);
    ReplyStatus(r, s, "DeleteTable");
  }, rpc::Dispatch::kWorker, kWriters);

  server->Register(meta::kMsgAlterTable, [m](std::string body, ResponderPtr r) {
    meta::AlterTableRequest req;
    Status s = meta::DecodeAlterTableRequest(body, &req);
    meta::TableInfo info;
    if (s.ok()) s = m->AlterTable(req, &info);
    if (!s.ok()) return ReplyStatus(r, s, "AlterTable");
    std::string out;
    meta::EncodeTableInfo(info, &out);
    r->Reply(s, out);
  }, rpc::Dispatch::kWorker, kWriters);

  server->Register(meta::kMsgListTables, [m](std::string body, ResponderPtr r) {
    if (!body.empty()) return r->Reply(Status::ProtocolError("ListTables takes no body"));
    meta::TableList list;
    Status s = m->ListTables(&list);
    if (!s.ok()) return ReplyStatus(r, s, "ListTables");
    std::string out;
    meta::EncodeTableList(list, &out);
    r->Reply(s, out);
  });

  server->Register(meta::kMsgDescribeTable, [m](std::string body, ResponderPtr r) {
    meta::TableNameRequest req;
    Status s = meta::DecodeTableNameRequest(body, &req);
    meta::TableInfo info;
    if (s.ok()) s = m->DescribeTable(req.name, &info);
    if (!s.ok()) return ReplyStatus(r, s, "DescribeTable");
    std::string out;
    meta::EncodeTableInfo(info, &out);
    r->Reply(s, out);
  });

  server->Register(meta::kMsgListTablets, [m](std::string body, ResponderPtr r) {
    meta::TableNameRequest req;
    Status s = meta::DecodeTableNameRequest(body, &req);
    meta::TabletList list;
    if (s.ok()) s = m->ListTablets(req.name, &list);
    if (!s.ok()) return ReplyStatus(r, s, "ListTablets");
    std::string out;
    meta::EncodeTabletList(list, &out);
    r->Reply(s, out);
  });

  server->Register(meta::kMsgListServers, [m](std::string body, ResponderPtr r) {
    if (!body.empty()) return r->Reply(Status::ProtocolError("ListServers takes no body"));
    meta::ServerList list;
    Status s = m->ListServers(&list);
    if (!s.ok()) return ReplyStatus(r, s, "ListServers");
    std::string out;
    meta::EncodeServerList(list, &out);
    r->Reply(s, out);
  });

  server->Register(meta::kMsgFsck, [m](std::string body, ResponderPtr r) {
    meta::FsckRequest req;
    Status s = meta::DecodeFsckRequest(body, &req);
    if (s.ok() && req.repair && !kWriters.contains(r->peer().role)) {
      s = Status::PermissionDenied("fsck --repair needs the admin role; " +
                                   r->peer().principal + " has role " +
                                   rpc::RoleName(r->peer().role));
    }
    meta::FsckReply reply;
    if (s.ok()) s = m->Fsck(req.repair, &reply);
    if (!s.ok()) return ReplyStatus(r, s, "Fsck");
    std::string out;
    meta::EncodeFsckReply(reply, &out);
    r->Reply(s, out);
  });

  server->Register(meta::kMsgMasterStatus, [m](std::string body, ResponderPtr r) {
    if (!body.empty()) return r->Reply(Status::ProtocolError("MasterStatus takes no body"));
    meta::MasterStatusInfo info;
    m->GetStatus(&info);
    std::string out;
    meta::EncodeMasterStatusInfo(info, &out);
    r->Reply(Status::OK(), out);
  });

  server->Register(client::kMsgKeepAlive, [m](std::string body, ResponderPtr r) {
    client::ServerStatusInfo status;
    Status s = client::DecodeServerStatusInfo(body, &status);
    if (s.ok() && status.address.empty()) s = Status::InvalidArgument("keepAlive without address");
    client::KeepAliveReply reply;
    if (s.ok()) s = m->OnKeepAlive(status, &reply);
    if (!s.ok()) return r->Reply(s);
    std::string out;
    client::EncodeKeepAliveReply(reply, &out);
    r->Reply(s, out);
  }, rpc::Dispatch::kWorker, kServers);

  server->Register(client::kMsgSplitReport, [m](std::string body, ResponderPtr r) {
    client::SplitInfo info;
    Status s = client::DecodeSplitInfo(body, &info);
    if (s.ok()) s = m->OnSplitReport(info);
    ReplyStatus(r, s, "SplitReport");
  }, rpc::Dispatch::kWorker, kServers);
}

}  // namespace kdi::masterd
