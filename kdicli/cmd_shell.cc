// kdicli shell: an interactive session running kdicli's commands, like the
// HBase and Accumulo shells: line editing and history (libedit, history kept
// in ~/.kdicli_history), completion of command names and, after a command, of
// the cluster's table names. Every line is split into words as a POSIX shell
// would ('single', "double" quotes and backslash escapes) and run as
// `kdicli [global options] WORDS...` with the global options of the shell's
// own invocation. Built-ins: help, quit, exit. With stdin not a terminal it
// reads commands without prompting (scripts) and exits with the status of the
// last command that failed (0 if none did).
//
// Single-threaded; libedit's state is global, so one shell per process.
#include <editline/readline.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kdi/lock_client.h"
#include "kdicli/command.h"
#include "lib/client/meta_client.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {
namespace {

// Splits a line into words; false (and *error) on an unterminated quote.
bool SplitWords(const std::string& line, std::vector<std::string>* words, std::string* error) {
  words->clear();
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < line.size(); i++) {
    char c = line[i];
    if (c == ' ' || c == '\t') {
      if (in_word) words->push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\\') {
      if (i + 1 < line.size()) cur.push_back(line[++i]);
      continue;
    }
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      for (; j < line.size() && line[j] != c; j++) {
        if (c == '"' && line[j] == '\\' && j + 1 < line.size() &&
            (line[j + 1] == '"' || line[j + 1] == '\\')) {
          j++;
        }
        cur.push_back(line[j]);
      }
      if (j >= line.size()) {
        *error = std::string("unterminated ") + c + " quote";
        return false;
      }
      i = j;
      continue;
    }
    cur.push_back(c);
  }
  if (in_word) words->push_back(cur);
  return true;
}

std::vector<std::string> g_candidates;  // for the completion generator
size_t g_next = 0;
std::vector<std::string> g_commands;
std::vector<std::string> g_tables;

char* Generator(const char* text, int state) {
  if (state == 0) g_next = 0;
  size_t n = strlen(text);
  while (g_next < g_candidates.size()) {
    const std::string& c = g_candidates[g_next++];
    if (c.compare(0, n, text) == 0) return strdup(c.c_str());
  }
  return nullptr;
}

char** Complete(const char* text, int start, int end) {
  (void)end;
  std::vector<std::string> words;
  std::string err;
  SplitWords(std::string(rl_line_buffer, start), &words, &err);
  g_candidates = words.empty() ? g_commands : g_tables;
  if (words.size() == 1 && words[0] == "local-cluster") {
    g_candidates = {"start", "stop", "status"};
  }
  rl_attempted_completion_over = 1;  // no file-name completion
  return rl_completion_matches(text, Generator);
}

// Table names of the configured cluster, for completion (empty on any error).
std::vector<std::string> ListTables(Context* ctx) {
  std::string lockd;
  rpc::TlsOptions t;
  if (!ctx->LockdAddress(&lockd).ok() || !ctx->ClientTls(&t).ok()) return {};
  lock::LockSessionOptions lo;
  lo.service = lockd;
  lo.tls_ca_file = t.ca_file;
  lo.tls_cert_file = t.cert_file;
  lo.tls_key_file = t.key_file;
  lo.op_timeout_ms = 3000;
  std::unique_ptr<lock::LockSession> session;
  std::shared_ptr<rpc::TlsContext> tls;
  if (!lock::OpenLockSession(lo, &session).ok() ||
      !rpc::TlsContext::CreateClient(t, &tls).ok()) {
    return {};
  }
  meta::MetaClient::Options mo;
  mo.lock_session = session.get();
  mo.tls = tls;
  mo.timeout_ms = 3000;
  mo.retry_ms = 3000;
  std::vector<std::string> names;
  {
    meta::MetaClient mc(mo);
    if (!mc.ListTables(&names).ok()) names.clear();
  }
  Status s = session->Close();
  (void)s;
  return names;
}

int RunShell(Context* ctx) {
  std::vector<std::string> args;
  int rc;
  if (!ctx->ParseOperands(&args, 0, 0, "expected no arguments", &rc)) return rc;

  // The global options of this invocation, passed to every command.
  std::vector<std::string> global;
  if (!ctx->config_path().empty()) global.push_back("--config=" + ctx->config_path());
  for (const char* key : {"lockd_address", "tls_ca_file", "tls_cert_file", "tls_key_file"}) {
    if (ctx->config().Source(key).rfind("--", 0) == 0) {
      global.push_back(std::string("--") + key + "=" + ctx->config().GetString(key));
    }
  }
  std::set<std::string> firsts;
  for (const CommandInfo& c : Commands()) firsts.insert(c.path.substr(0, c.path.find(' ')));
  for (const char* b : {"help", "quit", "exit"}) firsts.insert(b);
  g_commands.assign(firsts.begin(), firsts.end());

  bool interactive = isatty(0) && &ctx->out() == &std::cout;
  std::string history;
  if (interactive) {
    g_tables = ListTables(ctx);
    rl_readline_name = "kdicli";
    rl_attempted_completion_function = Complete;
    const char* home = getenv("HOME");
    if (home != nullptr) history = std::string(home) + "/.kdicli_history";
    using_history();
    if (!history.empty()) read_history(history.c_str());
    ctx->out() << "kdicli shell: 'help' lists commands, 'quit' or Ctrl-D ends.\n";
  }
  int last_failure = 0;
  for (;;) {
    std::string line;
    if (interactive) {
      char* raw = readline("kdi> ");
      if (raw == nullptr) {
        ctx->out() << "\n";
        break;
      }
      line = raw;
      free(raw);
      if (line.find_first_not_of(" \t") != std::string::npos) add_history(line.c_str());
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    std::vector<std::string> words;
    std::string error;
    if (!SplitWords(line, &words, &error)) {
      ctx->err() << "kdicli shell: " << error << "\n";
      last_failure = kExitUsage;
      continue;
    }
    if (words.empty() || words[0][0] == '#') continue;
    if (words[0] == "quit" || words[0] == "exit") break;
    if (words[0] == "help") words = {"--help"};
    std::vector<std::string> full = global;
    full.insert(full.end(), words.begin(), words.end());
    int code = RunKdicli(full, ctx->out(), ctx->err());
    ctx->out().flush();
    if (code != kExitOk) last_failure = code;
    if (interactive && (words[0] == "create" || words[0] == "drop")) g_tables = ListTables(ctx);
  }
  if (interactive && !history.empty()) write_history(history.c_str());
  return interactive ? kExitOk : last_failure;
}

}  // namespace
}  // namespace kdi::cli

KDICLI_COMMAND("shell", kdi::cli::RunShell, "",
               "interactive session with line editing, history and completion");
