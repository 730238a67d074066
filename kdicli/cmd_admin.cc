// kdicli admin views and table meta, through masterd's 2a interface
// (lib/client/meta_client.h; the master is found through /kdi/master):
//   tables | describe TABLE | tablets TABLE | servers | fsck [--repair]
//   create TABLE --family SPEC [--family SPEC]... [--split ROWS]... [ROW]... | drop TABLE
//   alter TABLE [--family SPEC]... [--remove NAMES]... [--force]
// Documented in kdicli(1). Exit codes: 0 ok (fsck: no problem), 1 failure (fsck:
// problems found), 2 usage.
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <memory>
#include <sstream>

#include "kdi/lock_client.h"
#include "kdicli/command.h"
#include "lib/client/meta_client.h"
#include "lib/client/meta_layout.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

// A MetaClient over a lock session, both owned.
struct Admin {
  std::unique_ptr<lock::LockSession> session;
  std::unique_ptr<meta::MetaClient> client;
  ~Admin() {
    client.reset();
    if (session) (void)session->Close();
  }
};

Status Connect(Context* ctx, Admin* a) {
  lock::LockSessionOptions o;
  RETURN_NOT_OK(ctx->LockdAddress(&o.service));
  rpc::TlsOptions tls;
  RETURN_NOT_OK(ctx->ClientTls(&tls));
  o.tls_ca_file = tls.ca_file;
  o.tls_cert_file = tls.cert_file;
  o.tls_key_file = tls.key_file;
  RETURN_NOT_OK_PREPEND(lock::OpenLockSession(o, &a->session), "connecting to lockd " + o.service);
  std::shared_ptr<rpc::TlsContext> ctx_tls;
  RETURN_NOT_OK(rpc::TlsContext::CreateClient(tls, &ctx_tls));
  meta::MetaClient::Options mo;
  mo.lock_session = a->session.get();
  mo.tls = ctx_tls;
  mo.retry_ms = 15000;
  a->client = std::make_unique<meta::MetaClient>(mo);
  return Status::OK();
}

// Connects to the master and runs `call` with its client; prints a failure of
// either (exit 1), else exit 0.
template <typename Call>
int WithMaster(Context* ctx, Call call) {
  Admin a;
  Status s = Connect(ctx, &a);
  if (s.ok()) s = call(a.client.get());
  return s.ok() ? kExitOk : ctx->Fail(s);
}

std::vector<std::string> SplitList(const std::string& s, const char* seps) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find_first_of(seps, i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string Row(const std::string& r, const char* inf) {
  return r.empty() ? inf : "\"" + meta::EscapeBytes(r) + "\"";
}

std::string Time(int64_t us) {
  if (us == 0) return "-";
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int RunTables(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 0, 0, "takes no arguments", &rc)) return rc;
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    std::vector<std::string> names;
    RETURN_NOT_OK(client->ListTables(&names));
    for (const auto& n : names) ctx->out() << n << "\n";
    return Status::OK();
  });
}

int RunDescribe(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one TABLE", &rc)) return rc;
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    meta::TableInfo info;
    RETURN_NOT_OK(client->DescribeTable(args[0], &info));
    ctx->out() << "table: " << info.name << "\n";
    for (const auto& f : info.schema.families()) ctx->out() << "family: " << f.ToString() << "\n";
    ctx->out() << "tablets: " << info.num_tablets << " (" << info.num_assigned << " assigned)\n";
    return Status::OK();
  });
}

int RunTablets(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one TABLE", &rc)) return rc;
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    std::vector<meta::TabletInfo> tablets;
    RETURN_NOT_OK(client->ListTablets(args[0], &tablets));
    ctx->out() << "ID\tSTART\tEND\tSTATE\tSERVER\tSIZE\tSINCE\n";
    for (const auto& t : tablets) {
      const meta::TabletMeta& m = t.meta;
      ctx->out() << m.id << "\t" << Row(m.start_row, "-inf") << "\t" << Row(m.end_row, "+inf")
                 << "\t" << meta::TabletStateName(m.state)
                 << (m.reason.empty() ? "" : " (" + m.reason + ")") << "\t"
                 << (m.server.empty() ? "-" : m.server) << "\t" << t.size_bytes << "\t"
                 << Time(m.since_us) << "\n";
    }
    return Status::OK();
  });
}

int RunServers(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 0, 0, "takes no arguments", &rc)) return rc;
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    std::vector<meta::ServerInfo> servers;
    RETURN_NOT_OK(client->ListServers(&servers));
    ctx->out() << "ADDRESS\tLIVE\tDATA\tTABLETS\tAPPLIES/S\tSCANS/S\tRSS\tLAST_KEEPALIVE\n";
    for (const auto& v : servers) {
      ctx->out() << v.address << "\t" << (v.live ? "yes" : "no") << "\t"
                 << (v.shared_data ? "shared" : "local") << "\t" << v.tablets << "\t"
                 << v.applies_per_sec << "\t" << v.scans_per_sec << "\t" << v.rss_bytes << "\t"
                 << Time(v.last_keepalive_us) << "\n";
    }
    return Status::OK();
  });
}

int RunFsck(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  ctx->flags()->AddBool("repair", false, "fix what can be fixed safely (admin role)");
  if (!ctx->ParseOperands(&args, 0, 0, "takes no arguments", &rc)) return rc;
  meta::FsckReply reply;
  int exit_code = WithMaster(ctx, [&](meta::MetaClient* client) {
    return client->Fsck(ctx->flags()->GetBool("repair"), &reply);
  });
  if (exit_code != kExitOk) return exit_code;
  for (const auto& l : reply.lines) ctx->out() << l << "\n";
  if (reply.problems > 0) {
    ctx->out() << reply.problems << " problem(s), " << reply.repaired << " repaired\n";
    return kExitFailure;
  }
  return kExitOk;
}

// Every value of a repeatable flag, each value split at `seps` (so both
// "--family a --family b" and "--family 'a b'" work).
std::vector<std::string> RepeatedList(Context* ctx, const char* flag, const char* seps) {
  std::vector<std::string> out;
  for (const auto& v : ctx->RepeatedFlag(flag)) {
    for (auto& item : SplitList(v, seps)) out.push_back(std::move(item));
  }
  return out;
}

int RunCreate(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  ctx->flags()->AddString("family", "", "a column family NAME[:versions=N][:ttl=S][:compress=zlib]; "
                          "repeat it (or separate specs by spaces) for more")
      .ValueName("SPEC");
  ctx->flags()->AddString("split", "", "initial split rows, comma-separated; may be repeated")
      .ValueName("ROWS");
  if (!ctx->ParseOperands(&args, 1, SIZE_MAX, "expected TABLE", &rc)) return rc;
  meta::CreateTableRequest req;
  req.name = args[0];
  std::vector<std::string> specs = RepeatedList(ctx, "family", " \t");
  if (specs.empty()) return ctx->UsageError("--family is required (e.g. --family 'cf:versions=3')");
  for (const auto& spec : specs) {
    FamilyOptions f;
    Status s = FamilyOptions::Parse(spec, &f);
    if (s.ok()) s = req.schema.AddFamily(f);
    if (!s.ok()) return ctx->UsageError("--family " + spec + ": " + s.message());
  }
  req.split_rows = RepeatedList(ctx, "split", ",");
  req.split_rows.insert(req.split_rows.end(), args.begin() + 1, args.end());
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    meta::TableInfo info;
    RETURN_NOT_OK(client->CreateTable(req, &info));
    ctx->out() << "created table " << info.name << " with " << info.num_tablets << " tablets\n";
    return Status::OK();
  });
}

int RunDrop(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one TABLE", &rc)) return rc;
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    RETURN_NOT_OK(client->DeleteTable(args[0]));
    ctx->out() << "deleted table " << args[0] << "\n";
    return Status::OK();
  });
}

int RunAlter(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  ctx->flags()->AddString("family", "", "a family to add or change, as for create; may be repeated")
      .ValueName("SPEC");
  ctx->flags()->AddString("add", "", "the same as --family").ValueName("SPEC");
  ctx->flags()->AddString("remove", "", "families to remove, comma-separated; may be repeated")
      .ValueName("NAMES");
  ctx->flags()->AddBool("force", false, "remove families even if they hold data");
  if (!ctx->ParseOperands(&args, 1, 1, "expected one TABLE", &rc)) return rc;
  meta::AlterTableRequest req;
  req.name = args[0];
  req.force = ctx->flags()->GetBool("force");
  std::vector<std::string> specs = RepeatedList(ctx, "family", " \t");
  for (auto& spec : RepeatedList(ctx, "add", " \t")) specs.push_back(std::move(spec));
  for (const auto& spec : specs) {
    meta::AlterOp op;
    Status s = FamilyOptions::Parse(spec, &op.family);
    if (!s.ok()) return ctx->UsageError("--family " + spec + ": " + s.message());
    req.ops.push_back(op);
  }
  for (const auto& name : RepeatedList(ctx, "remove", ", ")) {
    meta::AlterOp op;
    op.kind = meta::AlterOp::Kind::kRemoveFamily;
    op.family.name = name;
    req.ops.push_back(op);
  }
  if (req.ops.empty()) return ctx->UsageError("nothing to change: give --family or --remove");
  return WithMaster(ctx, [&](meta::MetaClient* client) -> Status {
    meta::TableInfo info;
    RETURN_NOT_OK(client->AlterTable(req, &info));
    ctx->out() << "table " << info.name << ": " << info.schema.ToString() << "\n";
    return Status::OK();
  });
}

}  // namespace
}  // namespace kdi::cli

KDICLI_COMMAND("tables", kdi::cli::RunTables, "", "list the tables (masterd)");
KDICLI_COMMAND("describe", kdi::cli::RunDescribe, "TABLE", "show a table's schema and tablet count");
KDICLI_COMMAND("tablets", kdi::cli::RunTablets, "TABLE",
               "list a table's tablets: range, state, server, size");
KDICLI_COMMAND("servers", kdi::cli::RunServers, "",
               "list the tablet servers: liveness, tablets, load, last keepAlive");
KDICLI_COMMAND("fsck", kdi::cli::RunFsck, "[--repair]",
               "check META: coverage, assignment, locks; exit 0 only if all hold");
KDICLI_COMMAND("create", kdi::cli::RunCreate,
               "TABLE --family SPEC [--family SPEC]... [--split ROWS]... [ROW]...",
               "create a table (admin role)");
KDICLI_COMMAND("drop", kdi::cli::RunDrop, "TABLE", "delete a table and its data (admin role)");
KDICLI_COMMAND("alter", kdi::cli::RunAlter,
               "TABLE [--family SPEC]... [--remove NAMES]... [--force]",
               "change a table's column families (admin role)");
