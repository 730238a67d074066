// kdicli ca init / ca issue: the cluster's certificate authority (lib/rpc/ca.h).
#include <string>
#include <vector>

#include "kdicli/command.h"
#include "lib/rpc/ca.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

int RunCaInit(Context* ctx) {
  ctx->flags()->AddString("name", "KDI cluster CA", "common name of the CA certificate");
  ctx->flags()->AddInt("days", 3650, 1, 36500, "validity of the CA certificate in days");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one DIR", &rc)) return rc;
  const std::string& dir = args[0];
  Status s = rpc::CaInit(dir, ctx->flags()->GetString("name"),
                         static_cast<int>(ctx->flags()->GetInt("days")));
  if (!s.ok()) return ctx->Fail(s.CloneAndPrepend("creating CA in " + dir));
  ctx->out() << "created CA in " << dir << ": " << dir << "/ca.crt, " << dir
             << "/ca.key (keep ca.key secret)\n";
  return kExitOk;
}

int RunCaIssue(Context* ctx) {
  Options* f = ctx->flags();
  f->AddString("role", "", "role of the identity; required")
      .Choices({"server", "admin", "client"})
      .ValueName("ROLE");
  f->AddPath("out", "", "directory for NAME.crt and NAME.key (default: the CA directory)")
      .ValueName("DIR");
  f->AddInt("days", 3650, 1, 36500, "validity in days");
  f->AddString("san", "", "extra subjectAltName entries, comma-separated (127.0.0.1,localhost)")
      .ValueName("LIST");
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 2, 2, "expected DIR and NAME", &rc)) return rc;
  if (f->GetString("role").empty()) return ctx->UsageError("--role is required");
  rpc::IssueOptions opts;
  opts.role = rpc::ParseRole(f->GetString("role"));
  opts.name = args[1];
  opts.out_dir = f->GetString("out");
  opts.validity_days = static_cast<int>(f->GetInt("days"));
  opts.subject_alt_names = f->GetString("san");
  const std::string& ca_dir = args[0];
  Status s = rpc::CaIssue(ca_dir, opts);
  if (!s.ok()) return ctx->Fail(s.CloneAndPrepend("issuing " + opts.name));
  std::string out = opts.out_dir.empty() ? ca_dir : opts.out_dir;
  ctx->out() << "issued " << opts.name << " (" << f->GetString("role") << "): " << out << "/"
             << opts.name << ".crt, " << out << "/" << opts.name << ".key\n";
  return kExitOk;
}

}  // namespace
}  // namespace kdi::cli

KDICLI_GROUP("ca", "the cluster's certificate authority (mutual TLS identities)");
KDICLI_COMMAND("ca init", kdi::cli::RunCaInit, "[--name NAME] [--days N] DIR",
               "create a cluster CA (DIR/ca.crt, DIR/ca.key)");
KDICLI_COMMAND("ca issue", kdi::cli::RunCaIssue,
               "DIR --role ROLE NAME [--out DIR] [--days N] [--san LIST]",
               "issue a key and certificate for NAME signed by the CA in DIR");
