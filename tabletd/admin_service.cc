// AdminService: the 3b and 3c handlers. See admin_service.h.
#include "tabletd/admin_service.h"

#include <chrono>
#include <functional>
#include <utility>

#include "lib/client/tablet_client.h"
#include "lib/util/log.h"

namespace kdi::tabletd {
namespace {

int64_t MonoMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void AdminService::Register(rpc::Server* server) {
  using std::placeholders::_1;
  using std::placeholders::_2;
  const rpc::RoleSet servers({rpc::Role::kServer});
  auto reg = [&](uint16_t type, void (AdminService::*fn)(std::string, rpc::ResponderPtr)) {
    server->Register(type, std::bind(fn, this, _1, _2), rpc::Dispatch::kWorker, servers);
  };
  reg(client::kMsgLoadTablet, &AdminService::HandleLoad);
  reg(client::kMsgTakeTablet, &AdminService::HandleLoad);
  reg(client::kMsgUnloadTablet, &AdminService::HandleUnload);
  reg(client::kMsgSplitTablet, &AdminService::HandleSplit);
  reg(client::kMsgCommitSplit, &AdminService::HandleCommitSplit);
  reg(client::kMsgTabletStatus, &AdminService::HandleTabletStatus);
  reg(client::kMsgServerStatus, &AdminService::HandleServerStatus);
  reg(client::kMsgMigrateTablet, &AdminService::HandleMigrate);
}

void AdminService::HandleLoad(std::string body, rpc::ResponderPtr r) {
  client::LoadTabletRequest req;
  Status s = client::DecodeLoadTabletRequest(body, &req);
  if (!s.ok()) return r->Reply(s);
  client::TabletStatusInfo info;
  s = registry_->Load(req, &info);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  client::EncodeTabletStatusInfo(info, &out);
  r->Reply(Status::OK(), std::move(out));
}

void AdminService::HandleUnload(std::string body, rpc::ResponderPtr r) {
  client::UnloadTabletRequest req;
  Status s = client::DecodeUnloadTabletRequest(body, &req);
  if (s.ok()) s = client::CheckTabletRef(req.tablet);
  if (!s.ok()) return r->Reply(s);
  r->Reply(registry_->Unload(req.tablet, req.destroy));
}

void AdminService::HandleSplit(std::string body, rpc::ResponderPtr r) {
  client::SplitTabletRequest req;
  Status s = client::DecodeSplitTabletRequest(body, &req);
  if (!s.ok()) return r->Reply(s);
  client::SplitInfo info;
  s = registry_->Split(req, &info);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  client::EncodeSplitInfo(info, &out);
  r->Reply(Status::OK(), std::move(out));
}

void AdminService::HandleCommitSplit(std::string body, rpc::ResponderPtr r) {
  client::TabletRef ref;
  Status s = client::DecodeTabletRefBody(body, "CommitSplit request", &ref);
  if (s.ok()) s = client::CheckTabletRef(ref);
  if (!s.ok()) return r->Reply(s);
  client::SplitInfo info;
  s = registry_->CommitSplit(ref, &info);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  client::EncodeSplitInfo(info, &out);
  r->Reply(Status::OK(), std::move(out));
}

void AdminService::HandleTabletStatus(std::string body, rpc::ResponderPtr r) {
  client::TabletRef ref;
  Status s = client::DecodeTabletRefBody(body, "TabletStatus request", &ref);
  if (s.ok()) s = client::CheckTabletRef(ref);
  if (!s.ok()) return r->Reply(s);
  client::TabletStatusInfo info;
  s = registry_->GetStatus(ref, &info);
  if (!s.ok()) return r->Reply(s);
  std::string out;
  client::EncodeTabletStatusInfo(info, &out);
  r->Reply(Status::OK(), std::move(out));
}

void AdminService::HandleServerStatus(std::string body, rpc::ResponderPtr r) {
  if (!body.empty()) return r->Reply(Status::ProtocolError("ServerStatus takes no body"));
  client::ServerStatusInfo info;
  server_status_(&info);
  std::string out;
  client::EncodeServerStatusInfo(info, &out);
  r->Reply(Status::OK(), std::move(out));
}

void AdminService::HandleMigrate(std::string body, rpc::ResponderPtr r) {
  client::MigrateTabletRequest req;
  Status s = client::DecodeMigrateTabletRequest(body, &req);
  if (s.ok()) s = client::CheckTabletRef(req.tablet);
  if (!s.ok()) return r->Reply(s);
  if (req.target_address.empty()) {
    return r->Reply(Status::InvalidArgument("MigrateTablet: no target address"));
  }
  if (!config_.shared_data) {
    client::MigrateTabletReply reply;
    s = migration_->MigrateByCopy(req, &reply);
    if (!s.ok()) return r->Reply(s);
    std::string out;
    client::EncodeMigrateTabletReply(reply, &out);
    return r->Reply(Status::OK(), std::move(out));
  }
  const int64_t t0 = MonoMicros();
  client::LoadTabletRequest reload;
  s = registry_->Detach(req.tablet, &reload);
  if (!s.ok()) return r->Reply(s);
  client::TabletClient target(
      client::TabletClient::Options{req.target_address, client_tls_, nullptr, 30000});
  client::MigrateTabletReply reply;
  s = target.TakeTablet(reload, &reply.target_status);
  if (!s.ok()) {
    Status back = registry_->Load(reload, nullptr);
    KDI_LOG(WARN, "migrate") << "handing " << req.tablet.ToString() << " to "
                             << req.target_address << " failed: " << s.ToString()
                             << (back.ok() ? "; serving it here again"
                                           : "; reloading here failed too: " + back.ToString());
    return r->Reply(s.CloneAndPrepend(
        "target " + req.target_address + " did not take " + req.tablet.ToString() +
        (back.ok() ? " (the tablet is served here again)"
                   : " (reloading it here failed: " + back.ToString() + ")")));
  }
  reply.unavailable_us = MonoMicros() - t0;
  KDI_LOG(INFO, "migrate") << req.tablet.ToString() << " handed to " << req.target_address
                           << "; unavailable for " << reply.unavailable_us << " us";
  std::string out;
  client::EncodeMigrateTabletReply(reply, &out);
  r->Reply(Status::OK(), std::move(out));
}

}  // namespace kdi::tabletd
