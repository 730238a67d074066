// kdicli's registry, context and dispatcher; see command.h.
#include "kdicli/command.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <iostream>

#include "config.h"
#include "lib/rpc/tls.h"
#include "lib/util/log.h"

namespace kdi::cli {

namespace {

std::vector<CommandInfo>& MutableCommands() {
  static std::vector<CommandInfo> commands;
  return commands;
}

std::vector<GroupInfo>& MutableGroups() {
  static std::vector<GroupInfo> groups;
  return groups;
}

std::vector<std::string> Words(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t sp = path.find(' ', pos);
    if (sp == std::string::npos) sp = path.size();
    if (sp > pos) out.push_back(path.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

bool StartsWith(const std::vector<std::string>& words, const std::vector<std::string>& prefix) {
  if (prefix.size() > words.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), words.begin());
}

constexpr const char* kSummary =
    "kdicli: the command line of a KDI cluster (users and operators).";

// The global registry: -c, --version, cluster settings, log level.
std::unique_ptr<Options> GlobalOptions() {
  auto opts = std::make_unique<Options>("kdicli", "[GLOBAL OPTION]... COMMAND [ARG]...",
                                        kSummary);
  AddConfigOption(opts.get());
  opts->AddBool("version", false, "print the version and exit").FlagOnly();
  // For scripts, completion and tests that must cover every command
  // (t/kdicli_usage_test.cc).
  opts->AddBool("list_commands", false,
                "print every command, one per line: its words, a tab, its usage")
      .FlagOnly();
  AddClusterOptions(opts.get());
  opts->AddString("log_level", "warn", "least severe library log level printed on stderr")
      .Global()
      .Choices({"debug", "info", "warn", "error"})
      .ValueName("LEVEL");
  return opts;
}

// Lists the commands and groups under prefix (all if empty), one level deep:
// a group shows as one line.
void ListCommands(const std::vector<std::string>& prefix, std::ostream& out) {
  std::vector<std::pair<std::string, std::string>> lines;
  std::vector<std::string> seen_groups;
  for (const CommandInfo& c : Commands()) {
    std::vector<std::string> w = Words(c.path);
    if (!StartsWith(w, prefix) || w.size() == prefix.size()) continue;
    if (w.size() == prefix.size() + 1) {
      lines.emplace_back(c.path + " " + c.usage, c.summary);
      continue;
    }
    std::string group;
    for (size_t i = 0; i <= prefix.size(); i++) group += (i ? " " : "") + w[i];
    if (std::find(seen_groups.begin(), seen_groups.end(), group) != seen_groups.end()) continue;
    seen_groups.push_back(group);
    std::string summary = group + " commands";
    for (const GroupInfo& g : Groups()) {
      if (g.path == group) summary = g.summary;
    }
    lines.emplace_back(group + " ...", summary);
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& l : lines) {
    out << "  " << l.first << "\n      " << l.second << "\n";
  }
}

void PrintTopHelp(const Options& global, std::ostream& out) {
  out << global.HelpText();
  out << "\nCommands:\n";
  ListCommands({}, out);
  out << "\n'kdicli COMMAND --help' describes a command. Exit status: 0 success, 1 the\n"
         "operation failed, 2 usage or configuration error. See kdicli(1).\n";
}

void PrintGroupHelp(const std::vector<std::string>& group, std::ostream& out) {
  std::string path;
  for (const auto& w : group) path += (path.empty() ? "" : " ") + w;
  out << "usage: kdicli " << path << " COMMAND [ARG]...\n";
  for (const GroupInfo& g : Groups()) {
    if (g.path == path) out << g.summary << "\n";
  }
  out << "\nCommands:\n";
  ListCommands(group, out);
}

}  // namespace

const std::vector<CommandInfo>& Commands() {
  auto& c = MutableCommands();
  std::sort(c.begin(), c.end(),
            [](const CommandInfo& a, const CommandInfo& b) { return a.path < b.path; });
  return c;
}

const std::vector<GroupInfo>& Groups() { return MutableGroups(); }

Registration::Registration(const char* path, CommandFn fn, const char* usage,
                           const char* summary) {
  MutableCommands().push_back(CommandInfo{path, fn, usage, summary});
}

Registration::Registration(const char* path, const char* summary) {
  MutableGroups().push_back(GroupInfo{path, summary});
}

// ---- Context ----------------------------------------------------------------

Context::Context(const CommandInfo& cmd, std::vector<std::string> args, const Options* config,
                 std::string config_path, std::ostream* out, std::ostream* err)
    : cmd_(cmd),
      args_(std::move(args)),
      config_(config),
      config_path_(std::move(config_path)),
      flags_(std::make_unique<Options>("kdicli " + cmd.path, cmd.usage, cmd.summary)),
      out_(out),
      err_(err) {}

Context::~Context() = default;

bool Context::Parse(std::vector<std::string>* operands, int* exit_code) {
  Status s = flags_->ParseArgs(args_, Options::kInterleaved, operands);
  if (flags_->GetBool("help")) {
    out() << flags_->HelpText();
    *exit_code = kExitOk;
    return false;
  }
  if (!s.ok()) {
    *exit_code = UsageError(s.message());
    return false;
  }
  return true;
}

bool Context::ParseOperands(std::vector<std::string>* operands, size_t min, size_t max,
                            const std::string& expected, int* exit_code) {
  if (!Parse(operands, exit_code)) return false;
  if (operands->size() < min || operands->size() > max) {
    *exit_code = UsageError(expected);
    return false;
  }
  return true;
}

std::vector<std::string> Context::RepeatedFlag(const std::string& name) const {
  // Parse() accepted these arguments, so every "--flag" is a declared option;
  // the declarations tell which flags consume the next argument as a value.
  auto normalize = [](std::string f) {
    std::replace(f.begin(), f.end(), '-', '_');
    return f;
  };
  auto takes_value = [this](const std::string& flag) {
    for (const Option* o : flags_->List()) {
      if (o->name() == flag) return o->type() != OptionType::kBool;
    }
    return false;  // an alias or a --no-X: kdicli commands alias no value flags
  };
  std::vector<std::string> values;
  for (size_t i = 0; i < args_.size(); i++) {
    const std::string& a = args_[i];
    if (a == "--") break;
    if (a.size() < 3 || a[0] != '-' || a[1] != '-') continue;  // operand or -x
    size_t eq = a.find('=');
    std::string flag = normalize(a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2));
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (takes_value(flag) && i + 1 < args_.size()) {
      value = args_[++i];
    } else {
      continue;
    }
    if (flag == name) values.push_back(value);
  }
  return values;
}

int Context::UsageError(const std::string& message) {
  err() << "kdicli " << cmd_.path << ": " << message << "\n"
        << "usage: kdicli " << cmd_.path << " " << cmd_.usage << "\n"
        << "(see 'kdicli " << cmd_.path << " --help')\n";
  return kExitUsage;
}

int Context::Fail(const Status& status) {
  err() << "kdicli " << cmd_.path << ": " << status.ToString() << "\n";
  return kExitFailure;
}

Status Context::LockdAddress(std::string* address) const {
  *address = config_->GetString("lockd_address");
  if (address->empty()) {
    return Status::InvalidArgument(
        "no lock service address: set lockd_address in [kdicli] or [global] of kdi.conf "
        "(-c FILE or KDI_CONF), or pass --lockd_address=HOST:PORT before the command");
  }
  return Status::OK();
}

Status Context::ClientTls(rpc::TlsOptions* tls) const {
  tls->ca_file = config_->GetString("tls_ca_file");
  tls->cert_file = config_->GetString("tls_cert_file");
  tls->key_file = config_->GetString("tls_key_file");
  for (const char* key : {"tls_ca_file", "tls_cert_file", "tls_key_file"}) {
    if (config_->GetString(key).empty()) {
      return Status::InvalidArgument(std::string(key) +
                                     " is not set: set it in [kdicli] or [global] of kdi.conf "
                                     "(-c FILE or KDI_CONF), or pass --" + key + "=FILE");
    }
  }
  return Status::OK();
}

// ---- dispatcher -----------------------------------------------------------------

int RunKdicli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::unique_ptr<Options> global = GlobalOptions();
  std::vector<std::string> words;
  Status s = global->ParseArgs(args, Options::kStopAtOperand, &words);
  if (!s.ok()) {
    err << "kdicli: " << s.message() << "\n";
    return kExitUsage;
  }
  if (global->GetBool("version")) {
    out << "kdicli (kdi) " << PACKAGE_VERSION << "\n";
    return kExitOk;
  }
  if (global->GetBool("list_commands")) {
    for (const CommandInfo& c : Commands()) out << c.path << "\t" << c.usage << "\n";
    return kExitOk;
  }
  // "kdicli help [COMMAND...]" is "kdicli [COMMAND...] --help".
  bool help = global->GetBool("help");
  if (!words.empty() && words[0] == "help") {
    words.erase(words.begin());
    help = true;
  }
  if (words.empty()) {
    if (help) {
      PrintTopHelp(*global, out);
      return kExitOk;
    }
    err << "kdicli: missing command\n";
    PrintTopHelp(*global, err);
    return kExitUsage;
  }

  // The longest registered path that prefixes the words.
  const CommandInfo* cmd = nullptr;
  size_t cmd_words = 0;
  for (const CommandInfo& c : Commands()) {
    std::vector<std::string> w = Words(c.path);
    if (StartsWith(words, w) && w.size() > cmd_words) {
      cmd = &c;
      cmd_words = w.size();
    }
  }
  if (cmd == nullptr) {
    // A group name (or a prefix of one) followed by nothing, --help or junk.
    size_t depth = 0;
    for (const CommandInfo& c : Commands()) {
      std::vector<std::string> w = Words(c.path);
      size_t n = 0;
      while (n < w.size() - 1 && n < words.size() && w[n] == words[n]) n++;
      depth = std::max(depth, n);
    }
    std::vector<std::string> group(words.begin(), words.begin() + depth);
    bool wants_help = help || (depth < words.size() &&
                               (words[depth] == "--help" || words[depth] == "-h"));
    if (depth > 0 && wants_help) {
      PrintGroupHelp(group, out);
      return kExitOk;
    }
    if (depth > 0 && depth == words.size()) {
      err << "kdicli: missing subcommand after '" << words[depth - 1] << "'\n";
      PrintGroupHelp(group, err);
      return kExitUsage;
    }
    std::string shown;
    for (size_t i = 0; i <= depth && i < words.size(); i++) shown += (i ? " " : "") + words[i];
    err << "kdicli: unknown command '" << shown << "' (see 'kdicli --help')\n";
    return kExitUsage;
  }

  std::vector<std::string> rest(words.begin() + cmd_words, words.end());
  if (help) rest.insert(rest.begin(), "--help");

  // Configuration: only now, so that --help and --version work with a broken one.
  char cwd[PATH_MAX];
  global->MakePathsAbsolute(getcwd(cwd, sizeof(cwd)) ? cwd : "/");
  std::string config_path;
  bool help_only = std::find(rest.begin(), rest.end(), "--help") != rest.end() ||
                   std::find(rest.begin(), rest.end(), "-h") != rest.end();
  if (!help_only) {
    s = LoadConfigFile(global.get(), "kdicli", &config_path);
    if (!s.ok()) {
      err << "kdicli: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  log::Level level = log::WARN;
  log::ParseLevel(global->GetString("log_level"), &level);
  log::SetLevel(level);
  log::SetSink(log::Sink::kStderr, "kdicli");

  Context ctx(*cmd, std::move(rest), global.get(), config_path, &out, &err);
  return cmd->fn(&ctx);
}

int KdicliMain(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; i++) args.emplace_back(argv[i]);
  int rc = RunKdicli(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}

}  // namespace kdi::cli
