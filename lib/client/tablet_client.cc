// TabletClient: encode, call, decode. See tablet_client.h.
#include "lib/client/tablet_client.h"

#include <algorithm>
#include <utility>

#include "lib/rpc/message_types.h"

namespace kdi::client {
namespace {

// Pages of one tablet's scan, fetched one at a time as the caller reads.
class TabletScanStream : public CellStream {
 public:
  TabletScanStream(TabletClient* client, ScanPageRequest request)
      : client_(client), request_(std::move(request)) {}

  bool Next(Cell* cell) override {
    while (pos_ >= page_.cells.size()) {
      if (!status_.ok() || finished_) return false;
      page_.cells.clear();
      pos_ = 0;
      status_ = client_->ScanPage(request_, &page_);
      if (!status_.ok()) return false;
      if (page_.done) {
        finished_ = true;
      } else if (page_.resume_token.empty()) {
        status_ = Status::ProtocolError("scan page without resume token and not done");
        return false;
      }
      request_.resume_token = page_.resume_token;
    }
    *cell = std::move(page_.cells[pos_++]);
    return true;
  }

  Status status() const override { return status_; }

 private:
  TabletClient* client_;
  ScanPageRequest request_;
  ScanPageReply page_;
  size_t pos_ = 0;
  bool finished_ = false;
  Status status_;
};

std::shared_ptr<rpc::Channel> MakeChannel(const TabletClient::Options& o) {
  rpc::ChannelOptions co;
  co.address = o.address;
  co.tls = o.tls;
  co.loop = o.loop;
  co.default_timeout_ms = o.timeout_ms;
  return std::make_shared<rpc::Channel>(co);
}

}  // namespace

TabletClient::TabletClient(Options options)
    : channel_(MakeChannel(options)), timeout_ms_(options.timeout_ms) {}

TabletClient::TabletClient(std::shared_ptr<rpc::Channel> channel, int64_t timeout_ms)
    : channel_(std::move(channel)), timeout_ms_(timeout_ms) {}

TabletClient::~TabletClient() = default;

const std::string& TabletClient::address() const { return channel_->address(); }

Status TabletClient::Call(uint16_t type, const std::string& body, std::string* reply,
                          int64_t timeout_ms) {
  return channel_->Call(type, body, reply, timeout_ms < 0 ? timeout_ms_ : timeout_ms);
}

Status TabletClient::CallForRevision(uint16_t type, const std::string& body,
                                     uint64_t* revision) {
  std::string reply;
  RETURN_NOT_OK(Call(type, body, &reply));
  ApplyReply r;
  RETURN_NOT_OK(DecodeApplyReply(reply, &r));
  if (revision) *revision = r.revision;
  return Status::OK();
}

Status TabletClient::Apply(const TabletRef& tablet, const std::vector<RowMutation>& rows,
                           uint64_t* revision) {
  ApplyRequest req;
  req.tablet = tablet;
  req.rows = rows;
  std::string body;
  EncodeApplyRequest(req, &body);
  return CallForRevision(kMsgApply, body, revision);
}

Status TabletClient::ConditionalApply(const TabletRef& tablet,
                                      const std::vector<Condition>& conditions,
                                      const RowMutation& mutation, uint64_t* revision) {
  ConditionalApplyRequest req;
  req.tablet = tablet;
  req.conditions = conditions;
  req.mutation = mutation;
  std::string body;
  EncodeConditionalApplyRequest(req, &body);
  return CallForRevision(kMsgConditionalApply, body, revision);
}

Status TabletClient::ApplyAndSync(const TabletRef& tablet, const std::vector<RowMutation>& rows,
                                  uint64_t* revision) {
  ApplyRequest req;
  req.tablet = tablet;
  req.rows = rows;
  req.sync = true;
  std::string body;
  EncodeApplyWithFlagsRequest(req, &body);
  return CallForRevision(kMsgApplyWithFlags, body, revision);
}

Status TabletClient::Sync(const TabletRef& tablet) {
  std::string body, reply;
  EncodeSyncRequest(SyncRequest{tablet}, &body);
  return Call(kMsgSync, body, &reply);
}

Status TabletClient::ScanPage(const ScanPageRequest& request, ScanPageReply* out) {
  std::string body, reply;
  EncodeScanPageRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgScanPage, body, &reply));
  return DecodeScanPageReply(reply, out);
}

Status TabletClient::GetRowRevision(const TabletRef& tablet, std::string_view row,
                                    uint64_t* revision) {
  RowRevisionRequest req;
  req.tablet = tablet;
  req.row = std::string(row);
  std::string body, reply;
  EncodeRowRevisionRequest(req, &body);
  RETURN_NOT_OK(Call(kMsgGetRowRevision, body, &reply));
  RowRevisionReply r;
  RETURN_NOT_OK(DecodeRowRevisionReply(reply, &r));
  *revision = r.revision;
  return Status::OK();
}

std::unique_ptr<CellStream> TabletClient::OpenScan(const TabletRef& tablet,
                                                   const ScanPredicate& predicate,
                                                   uint32_t max_cells, uint64_t max_bytes) {
  ScanPageRequest req;
  req.tablet = tablet;
  req.predicate = predicate;
  req.max_cells = max_cells;
  req.max_bytes = max_bytes;
  return std::make_unique<TabletScanStream>(this, std::move(req));
}

Status TabletClient::LoadTablet(const LoadTabletRequest& request, TabletStatusInfo* status) {
  std::string body, reply;
  EncodeLoadTabletRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgLoadTablet, body, &reply));
  TabletStatusInfo info;
  RETURN_NOT_OK(DecodeTabletStatusInfo(reply, &info));
  if (status) *status = std::move(info);
  return Status::OK();
}

Status TabletClient::UnloadTablet(const TabletRef& tablet, bool destroy) {
  std::string body, reply;
  EncodeUnloadTabletRequest(UnloadTabletRequest{tablet, destroy}, &body);
  return Call(kMsgUnloadTablet, body, &reply);
}

Status TabletClient::SplitTablet(const SplitTabletRequest& request, SplitInfo* info) {
  std::string body, reply;
  EncodeSplitTabletRequest(request, &body);
  // A split copies the tablet: allow it more time than an ordinary call.
  RETURN_NOT_OK(Call(kMsgSplitTablet, body, &reply, std::max<int64_t>(timeout_ms_, 120000)));
  return DecodeSplitInfo(reply, info);
}

Status TabletClient::CommitSplit(const TabletRef& parent, SplitInfo* info) {
  std::string body, reply;
  EncodeTabletRefBody(parent, &body);
  RETURN_NOT_OK(Call(kMsgCommitSplit, body, &reply));
  SplitInfo si;
  RETURN_NOT_OK(DecodeSplitInfo(reply, &si));
  if (info) *info = std::move(si);
  return Status::OK();
}

Status TabletClient::TabletStatus(const TabletRef& tablet, TabletStatusInfo* status) {
  std::string body, reply;
  EncodeTabletRefBody(tablet, &body);
  RETURN_NOT_OK(Call(kMsgTabletStatus, body, &reply));
  return DecodeTabletStatusInfo(reply, status);
}

Status TabletClient::ServerStatus(ServerStatusInfo* status) {
  std::string reply;
  RETURN_NOT_OK(Call(kMsgServerStatus, std::string(), &reply));
  return DecodeServerStatusInfo(reply, status);
}

Status TabletClient::MigrateTablet(const MigrateTabletRequest& request,
                                   MigrateTabletReply* out) {
  std::string body, reply;
  EncodeMigrateTabletRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgMigrateTablet, body, &reply, std::max<int64_t>(timeout_ms_, 600000)));
  return DecodeMigrateTabletReply(reply, out);
}

Status TabletClient::TakeTablet(const LoadTabletRequest& request, TabletStatusInfo* status) {
  std::string body, reply;
  EncodeLoadTabletRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgTakeTablet, body, &reply));
  TabletStatusInfo info;
  RETURN_NOT_OK(DecodeTabletStatusInfo(reply, &info));
  if (status) *status = std::move(info);
  return Status::OK();
}

Status TabletClient::ListTabletFiles(const ListTabletFilesRequest& request,
                                     ListTabletFilesReply* out) {
  std::string body, reply;
  EncodeListTabletFilesRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgListTabletFiles, body, &reply));
  return DecodeListTabletFilesReply(reply, out);
}

Status TabletClient::ReadTabletChunk(const ReadTabletChunkRequest& request, std::string* data) {
  std::string body, reply;
  EncodeReadTabletChunkRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgReadTabletChunk, body, &reply));
  Decoder d(reply);
  d.GetLengthPrefixed(data, kMaxChunkBytes);
  return d.status("ReadTabletChunk reply");
}

Status TabletClient::PrepareTake(const CopyTabletRequest& request, CopyTabletReply* out,
                                 int64_t timeout_ms) {
  std::string body, reply;
  EncodeCopyTabletRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgPrepareTake, body, &reply, timeout_ms));
  return DecodeCopyTabletReply(reply, out);
}

Status TabletClient::FinishTake(const CopyTabletRequest& request, CopyTabletReply* out,
                                int64_t timeout_ms) {
  std::string body, reply;
  EncodeCopyTabletRequest(request, &body);
  RETURN_NOT_OK(Call(kMsgFinishTake, body, &reply, timeout_ms));
  return DecodeCopyTabletReply(reply, out);
}

Status TabletClient::Ping() {
  std::string reply;
  return Call(rpc::kMsgPing, std::string(), &reply);
}

}  // namespace kdi::client
