// kdicli's command registry: each subcommand lives in its own file and
// registers itself at static-initialization time, so adding a command is one
// new file plus one line in kdicli/kdicli.am:
//
//   // kdicli/lock_commands.cc
//   namespace kdi::cli {
//   int RunLockLs(Context* ctx) {
//     std::vector<std::string> args;
//     int rc;
//     ctx->flags()->AddBool("long", false, "show metadata").Short('l');
//     if (!ctx->Parse(&args, &rc)) return rc;          // handles --help, bad flags
//     if (args.size() != 1) return ctx->UsageError("expected one PATH");
//     ... Status s = ...;
//     if (!s.ok()) return ctx->Fail(s);                 // "kdicli lock ls: <status>", 1
//     ctx->out() << ...;
//     return kExitOk;
//   }
//   }  // namespace kdi::cli
//   KDICLI_GROUP("lock", "operate on the lock service's namespace");
//   KDICLI_COMMAND("lock ls", kdi::cli::RunLockLs, "[-l] PATH", "list a directory");
//
// A command path is one or more words ("ca issue"). `kdicli WORDS... --help`
// prints the command's generated help; `kdicli GROUP` lists the group's commands.
//
// Exit codes (kdi::kExitOk/kExitFailure/kExitUsage, lib/util/daemon.h):
// 0 success, 1 the operation or the cluster failed, 2 usage error (bad command
// line or configuration). Errors go to stderr prefixed with the command
// ("kdicli ca issue: ...") and name what failed.
//
// Threading: kdicli is single-threaded at this level; Context is not shared.
#ifndef KDI_KDICLI_COMMAND_H_
#define KDI_KDICLI_COMMAND_H_

#include <cstddef>
#include <ostream>
#include <memory>
#include <string>
#include <vector>

#include "kdi/status.h"
#include "lib/util/daemon.h"
#include "lib/util/options.h"

namespace kdi::rpc {
struct TlsOptions;
}

namespace kdi::cli {

class Context;
using CommandFn = int (*)(Context* ctx);

struct CommandInfo {
  std::string path;     // "ca issue"
  CommandFn fn;
  std::string usage;    // synopsis after the path: "DIR --role ROLE NAME [--out DIR]"
  std::string summary;  // one line
};

struct GroupInfo {
  std::string path;  // "ca"
  std::string summary;
};

// All registered commands and groups, sorted by path.
const std::vector<CommandInfo>& Commands();
const std::vector<GroupInfo>& Groups();

// Used by the macros below.
struct Registration {
  Registration(const char* path, CommandFn fn, const char* usage, const char* summary);
  Registration(const char* path, const char* summary);  // a group
};

// What a command gets: its arguments, the global configuration, its own flag
// registry, and the output streams.
class Context {
 public:
  Context(const CommandInfo& cmd, std::vector<std::string> args, const Options* config,
          std::string config_path, std::ostream* out, std::ostream* err);
  ~Context();

  // "ca issue"
  const std::string& command() const { return cmd_.path; }
  // The words after the command path, unparsed.
  const std::vector<std::string>& args() const { return args_; }

  // The command's own flags; declare them before Parse(). Its --help text is
  // generated from them, the usage and the summary.
  Options* flags() { return flags_.get(); }
  // Parses args() against flags(). Returns true to go on, with the operands in
  // *operands. Returns false with *exit_code set when the command must end:
  // 0 after printing --help, 2 after printing a usage error.
  bool Parse(std::vector<std::string>* operands, int* exit_code);
  // Parse(), then a usage error (`expected`, exit code 2) unless there are
  // between min and max operands.
  bool ParseOperands(std::vector<std::string>* operands, size_t min, size_t max,
                     const std::string& expected, int* exit_code);
  // Every value the command line gave the (non-boolean) flag `name`, in order,
  // for flags that may be repeated (--family a --family b): flags() keeps only
  // the last one. Spellings as Parse accepts them (--name=V, --name V, dashes
  // for underscores); "--" ends the options. REQUIRES: Parse() returned true.
  std::vector<std::string> RepeatedFlag(const std::string& name) const;

  // The global settings: kdi.conf [global] and [kdicli], overridden by global
  // flags (kdicli --lockd_address=H:P CMD ...). Keys: lockd_address,
  // tls_ca_file, tls_cert_file, tls_key_file, log_level.
  const Options& config() const { return *config_; }
  // The kdi.conf that was read ("" if none).
  const std::string& config_path() const { return config_path_; }
  // lockd_address, or InvalidArgument saying how to set it.
  Status LockdAddress(std::string* address) const;
  // The TLS files from the configuration; InvalidArgument naming the unset key.
  Status ClientTls(rpc::TlsOptions* tls) const;

  std::ostream& out() { return *out_; }
  std::ostream& err() { return *err_; }

  // Prints "kdicli CMD: message" and a pointer to --help; returns 2.
  int UsageError(const std::string& message);
  // Prints "kdicli CMD: <status>"; returns 1.
  int Fail(const Status& status);

 private:
  const CommandInfo& cmd_;
  std::vector<std::string> args_;
  const Options* config_;
  std::string config_path_;
  std::unique_ptr<Options> flags_;
  std::ostream* out_;
  std::ostream* err_;
};

// The whole program: global options, configuration, dispatch. Returns the exit
// code. args excludes argv[0].
int RunKdicli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int KdicliMain(int argc, char** argv);

}  // namespace kdi::cli

#define KDICLI_CONCAT_INNER(a, b) a##b
#define KDICLI_CONCAT(a, b) KDICLI_CONCAT_INNER(a, b)
#define KDICLI_COMMAND(path, fn, usage, summary)                                   \
  static ::kdi::cli::Registration KDICLI_CONCAT(kdicli_command_, __LINE__)(path, fn, \
                                                                             usage, summary)
#define KDICLI_GROUP(path, summary) \
  static ::kdi::cli::Registration KDICLI_CONCAT(kdicli_group_, __LINE__)(path, summary)

#endif  // KDI_KDICLI_COMMAND_H_
