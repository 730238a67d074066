// kdicli lock ...: operators' access to the lock service's namespace
// (kdicli(1), lockd(8)). Each command opens a short session with the
// configured lockd_address and TLS files, does its work, and closes the
// session cleanly (no lock-delay, no ephemeral node left behind).
#include <ctime>
#include <iomanip>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>

#include "kdi/lock_client.h"
#include "kdicli/command.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

using lock::LockHandle;
using lock::LockSession;

Status OpenSession(Context* ctx, std::unique_ptr<LockSession>* session) {
  lock::LockSessionOptions o;
  RETURN_NOT_OK(ctx->LockdAddress(&o.service));
  rpc::TlsOptions tls;
  RETURN_NOT_OK(ctx->ClientTls(&tls));
  o.tls_ca_file = tls.ca_file;
  o.tls_cert_file = tls.cert_file;
  o.tls_key_file = tls.key_file;
  return lock::OpenLockSession(o, session);
}

std::string FormatTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::ostringstream out;
  out << buf << '.' << std::setw(3) << std::setfill('0') << (ms % 1000) << 'Z';
  return out.str();
}

void PrintStat(std::ostream& out, const std::string& path, const lock::NodeStat& st) {
  out << "path: " << path << "\n"
      << "instance: " << st.instance << "\n"
      << "content_generation: " << st.content_generation << "\n"
      << "lock_generation: " << st.lock_generation << "\n"
      << "checksum: " << std::hex << std::setw(8) << std::setfill('0') << st.checksum
      << std::dec << std::setfill(' ') << "\n"
      << "length: " << st.content_length << "\n"
      << "children: " << st.num_children << "\n"
      << "ephemeral: " << (st.ephemeral ? "yes (session " + std::to_string(st.ephemeral_owner) + ")"
                                         : std::string("no"))
      << "\n"
      << "lock: " << lock::LockModeName(st.lock_mode) << " (" << st.lock_holders
      << " holders)\n"
      << "created: " << FormatTime(st.ctime_ms) << "\n"
      << "modified: " << FormatTime(st.mtime_ms) << "\n";
}

// Runs fn with an open session, then closes it. Returns the exit code.
template <typename Fn>
int WithSession(Context* ctx, Fn fn) {
  std::unique_ptr<LockSession> session;
  Status s = OpenSession(ctx, &session);
  if (s.ok()) s = fn(session.get());
  Status c = session ? session->Close() : Status::OK();
  if (s.ok()) s = c;
  return s.ok() ? kExitOk : ctx->Fail(s);
}

int RunLockLs(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  ctx->flags()->AddBool("long", false, "show each child's metadata").Short('l');
  if (!ctx->ParseOperands(&args, 1, 1, "expected one PATH", &rc)) return rc;
  const bool long_form = ctx->flags()->GetBool("long");
  const std::string path = args[0];
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::unique_ptr<LockHandle> h;
    RETURN_NOT_OK(session->Open(path, lock::kRead, 0, &h));
    std::vector<std::string> names;
    RETURN_NOT_OK(h->ReadDirectory(&names));
    for (const std::string& name : names) {
      if (!long_form) {
        ctx->out() << name << "\n";
        continue;
      }
      std::string child = path == "/" ? "/" + name : path + "/" + name;
      std::unique_ptr<LockHandle> c;
      lock::NodeStat st;
      Status s = session->Open(child, 0, 0, &c, &st);
      if (!s.ok()) continue;  // deleted meanwhile
      ctx->out() << (st.ephemeral ? 'e' : '-') << (st.num_children ? 'd' : '-') << ' '
                 << std::setw(9) << lock::LockModeName(st.lock_mode) << ' ' << std::setw(8)
                 << st.content_length << ' ' << FormatTime(st.mtime_ms) << ' ' << name << "\n";
    }
    return Status::OK();
  });
}

int RunLockCat(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one PATH", &rc)) return rc;
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::unique_ptr<LockHandle> h;
    RETURN_NOT_OK(session->Open(args[0], lock::kRead, 0, &h));
    std::string contents;
    RETURN_NOT_OK(h->GetContents(&contents));
    ctx->out() << contents;
    return Status::OK();
  });
}

int RunLockStat(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one PATH", &rc)) return rc;
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::unique_ptr<LockHandle> h;
    lock::NodeStat st;
    RETURN_NOT_OK(session->Open(args[0], 0, 0, &h, &st));
    PrintStat(ctx->out(), args[0], st);
    return Status::OK();
  });
}

int RunLockPut(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  ctx->flags()->AddInt("cas", -1, -1, INT64_MAX,
                       "only write if the content generation is this (compare-and-set)")
      .ValueName("GENERATION");
  if (!ctx->ParseOperands(&args, 2, 2, "expected PATH and VALUE ('-': standard input)", &rc)) {
    return rc;
  }
  std::string value = args[1];
  if (value == "-") {
    value.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  const int64_t cas = ctx->flags()->GetInt("cas");
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::unique_ptr<LockHandle> h;
    RETURN_NOT_OK(session->Open(args[0], lock::kCreate | lock::kWrite, 0, &h));
    lock::NodeStat st;
    RETURN_NOT_OK(h->SetContents(value, cas, &st));
    ctx->out() << "content_generation: " << st.content_generation << "\n";
    return Status::OK();
  });
}

int RunLockRm(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 1, 1, "expected one PATH", &rc)) return rc;
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::unique_ptr<LockHandle> h;
    RETURN_NOT_OK(session->Open(args[0], lock::kWrite, 0, &h));
    return h->Delete();
  });
}

int RunLockSessions(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 0, 0, "expected no arguments", &rc)) return rc;
  return WithSession(ctx, [&](LockSession* session) -> Status {
    std::vector<lock::SessionInfo> sessions;
    RETURN_NOT_OK(session->ListSessions(&sessions));
    ctx->out() << "SESSION\tPRINCIPAL\tROLE\tADDRESS\tLEASE_LEFT_MS\tHANDLES\tLOCKS\n";
    for (const lock::SessionInfo& s : sessions) {
      if (s.session_id == session->session_id()) continue;  // this command's own
      ctx->out() << s.session_id << '\t' << s.principal << '\t' << s.role << '\t' << s.address
                 << '\t' << s.lease_left_ms << '\t' << s.handles << '\t';
      for (size_t i = 0; i < s.locks.size(); ++i) ctx->out() << (i ? ", " : "") << s.locks[i];
      if (s.locks.empty()) ctx->out() << '-';
      ctx->out() << '\n';
    }
    return Status::OK();
  });
}

}  // namespace
}  // namespace kdi::cli

KDICLI_GROUP("lock", "the lock service's namespace and sessions (lockd)");
KDICLI_COMMAND("lock ls", kdi::cli::RunLockLs, "[-l] PATH", "list the children of a node");
KDICLI_COMMAND("lock cat", kdi::cli::RunLockCat, "PATH", "print a node's contents");
KDICLI_COMMAND("lock stat", kdi::cli::RunLockStat, "PATH", "print a node's metadata");
KDICLI_COMMAND("lock put", kdi::cli::RunLockPut, "[--cas GENERATION] PATH VALUE|-",
               "create a node if needed and set its contents");
KDICLI_COMMAND("lock rm", kdi::cli::RunLockRm, "PATH", "delete a node (it must have no children)");
KDICLI_COMMAND("lock sessions", kdi::cli::RunLockSessions, "",
               "list live sessions: principal, address, lease left, locks held");
