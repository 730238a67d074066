// Options: the registry of a program's settings, filled from defaults, then
// kdi.conf, then the command line (each overriding the one before).
//
// A program declares every option once, with its name, type, default, help and
// range. The name is both the config key and the flag: `lockd_session_lease_ms`
// is `lockd_session_lease_ms = 12000` in [lockd] and `--lockd_session_lease_ms=12000`
// (or `--lockd-session-lease-ms 12000`) on the command line. Names carry their
// area and unit (STYLE.md); they and their defaults are a promise to operators.
//
//   kdi::Options opts("lockd", "[OPTION]...", "KDI lock service.");
//   opts.AddDurationMs("lockd_session_lease_ms", 12000, 1000, 600000,
//                      "lease of a client session");
//   opts.AddPath("lockd_data_dir", "/var/lib/kdi/lockd", "data directory")
//       .Alias("data").ValueName("DIR");
//   RETURN_NOT_OK(opts.ParseArgs(argc, argv, kdi::Options::kInterleaved, &args));
//   RETURN_NOT_OK(kdi::LoadConfigFile(&opts, "lockd", &config_path));
//   int64_t lease = opts.GetDurationMs("lockd_session_lease_ms");
//
// Value syntax by type (also in kdi.conf(5)):
//   string       any text
//   int          [-]digits, checked against [min, max]
//   bool         true|false|yes|no|on|off|1|0; a bare `--flag` means true
//   duration-ms  digits with an optional unit: ms (default), s, m (minutes), h
//   size         bytes, with an optional binary unit: B, K|KiB, M|MiB, G|GiB, T|TiB
//
// Config rules (Options::ApplyConfig): keys in the program's own section must
// be options the program declared; keys in [global] must be one of the shared
// global keys (GlobalConfigKeys(), e.g. log_level, tls_ca_file); keys of other
// programs' sections are left to those programs. A key in the program's
// section overrides the same key in [global]; a command-line flag overrides both.
// A relative path (AddPath) in a config file is taken relative to the file's
// directory; on the command line, relative to the working directory
// (MakePathsAbsolute).
// Every error is an InvalidArgument naming "FILE:LINE" or the flag.
//
// Misuse by the programmer (declaring a name twice, reading an undeclared name
// or with the wrong type) aborts with a message: it is a bug, not bad input.
//
// Threading: declare, parse and load from one thread; afterwards the Get*
// methods may be called from any thread as long as nothing is set any more.
#ifndef KDI_LIB_UTIL_OPTIONS_H_
#define KDI_LIB_UTIL_OPTIONS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"
#include "lib/util/config_file.h"

namespace kdi {

enum class OptionType { kString, kInt, kBool, kDurationMs, kSize };

// One declared option. The Add* methods of Options return it so that the
// declaration can be refined: opts.AddString(...).ValueName("FILE").Global().
class Option {
 public:
  const std::string& name() const { return name_; }
  OptionType type() const { return type_; }
  const std::string& help() const { return help_; }
  const std::string& default_text() const { return default_text_; }

  // Shown after the flag in --help ("--listen=HOST:PORT"). Default by type.
  Option& ValueName(std::string v);
  // May appear in [global] (must be listed in GlobalConfigKeys()).
  Option& Global();
  // Only a command-line flag, never a config key (--config, --foreground).
  Option& FlagOnly();
  // A one-letter flag: -c FILE.
  Option& Short(char c);
  // Another flag name for the same option (--listen for lockd_listen_address).
  // Aliases are flags only, never config keys.
  Option& Alias(std::string alias);
  // For strings: the value must be one of these.
  Option& Choices(std::vector<std::string> choices);
  // Help text hidden (internal and test-only options).
  Option& Hidden();

 private:
  friend class Options;
  std::string name_;
  OptionType type_ = OptionType::kString;
  std::string help_;
  std::string default_text_;
  std::string value_name_;
  int64_t min_ = INT64_MIN;
  int64_t max_ = INT64_MAX;
  std::vector<std::string> choices_;
  std::vector<std::string> aliases_;
  bool global_ = false;
  bool flag_only_ = false;
  bool path_ = false;
  bool hidden_ = false;
  char short_ = 0;
  // Current value.
  std::string text_;
  int64_t number_ = 0;  // int, duration-ms, size, bool (0/1)
  std::string source_ = "default";
  bool from_command_line_ = false;
  bool set_ = false;
};

class Options {
 public:
  // program: name used in messages and --help ("lockd", "kdicli ca issue").
  // usage: the synopsis after the program name ("[OPTION]... DIR").
  // summary: one paragraph printed under the usage line in --help.
  explicit Options(std::string program, std::string usage = "[OPTION]...",
                   std::string summary = "");
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;

  // ---- declaration -------------------------------------------------------
  // Names: [a-z][a-z0-9_]*. Every Options has "help" (-h) already declared.
  Option& AddString(const std::string& name, const std::string& def, const std::string& help);
  // A string naming a file or directory; MakePathsAbsolute() resolves it.
  Option& AddPath(const std::string& name, const std::string& def, const std::string& help);
  Option& AddInt(const std::string& name, int64_t def, int64_t min, int64_t max,
                 const std::string& help);
  Option& AddBool(const std::string& name, bool def, const std::string& help);
  Option& AddDurationMs(const std::string& name, int64_t def_ms, int64_t min_ms,
                        int64_t max_ms, const std::string& help);
  Option& AddSize(const std::string& name, int64_t def_bytes, int64_t min_bytes,
                  int64_t max_bytes, const std::string& help);

  bool Has(std::string_view name) const;

  // ---- setting -----------------------------------------------------------
  // Parses text according to the option's type and range. origin is used in
  // error messages and Source() ("kdi.conf:12", "--name").
  Status Set(std::string_view name, std::string_view text, const std::string& origin);

  enum ArgMode {
    kInterleaved,       // options and operands may mix; "--" ends options
    kStopAtOperand,     // the first operand and everything after it are operands
  };
  // Parses argv[1..argc-1]. Operands are appended to *operands. A flag given
  // here is not overridden by a later ApplyConfig().
  Status ParseArgs(int argc, const char* const* argv, ArgMode mode,
                   std::vector<std::string>* operands);
  Status ParseArgs(const std::vector<std::string>& args, ArgMode mode,
                   std::vector<std::string>* operands);

  // Applies a parsed kdi.conf for the program whose section is `section`
  // (see the rules at the top of this file).
  Status ApplyConfig(const ConfigFile& config, const std::string& section);

  // Turns relative values of path options into absolute ones against cwd.
  void MakePathsAbsolute(const std::string& cwd);

  // ---- reading -----------------------------------------------------------
  const std::string& GetString(std::string_view name) const;
  int64_t GetInt(std::string_view name) const;
  bool GetBool(std::string_view name) const;
  int64_t GetDurationMs(std::string_view name) const;
  int64_t GetSize(std::string_view name) const;
  // True if a config file or flag set it (not just the default).
  bool IsSet(std::string_view name) const;
  // Where the current value came from: "default", "FILE:LINE" or "--flag".
  const std::string& Source(std::string_view name) const;

  // The --help text: usage, summary, then every visible option with its
  // value name, help, range and default.
  std::string HelpText() const;
  const std::string& program() const { return program_; }
  // Declared options in declaration order.
  std::vector<const Option*> List() const;

 private:
  Option& Add(const std::string& name, OptionType type, const std::string& help);
  Option* Find(std::string_view name);
  const Option& Get(std::string_view name, OptionType type) const;
  // Resolves a flag spelling (name, alias, dashes for underscores) to its option.
  Option* FindFlag(std::string_view flag);
  Status SetOption(Option* o, std::string_view text, const std::string& origin);

  std::string program_;
  std::string usage_;
  std::string summary_;
  std::vector<std::unique_ptr<Option>> options_;
  std::map<std::string, Option*, std::less<>> by_name_;
};

// ---- value parsers (exposed for tests and fuzzers) ---------------------------
bool ParseBoolValue(std::string_view text, bool* out);
bool ParseIntValue(std::string_view text, int64_t* out);
bool ParseDurationMsValue(std::string_view text, int64_t* out_ms);
bool ParseSizeValue(std::string_view text, int64_t* out_bytes);

// ---- shared options ---------------------------------------------------------
// The keys allowed in [global]. A program that declares one of them must mark
// it Global(); a program that does not use one ignores it in [global].
const std::vector<std::string>& GlobalConfigKeys();

// Where kdi.conf is looked for when neither --config nor KDI_CONF names one:
// $(sysconfdir)/kdi/kdi.conf.
std::string DefaultConfigPath();

// Declares -c/--config FILE (flag only, a path).
void AddConfigOption(Options* opts);
// Declares the cluster client settings shared by masterd, tabletd and kdicli:
// lockd_address and tls_ca_file, tls_cert_file, tls_key_file (all Global()).
void AddClusterOptions(Options* opts);
// The same settings as declared by a daemon, with the short aliases the daemons
// accept (--lockd, --tls-ca, --tls-cert, --tls-key). `program` names the daemon
// in the certificate's help text; lockd itself passes with_lockd_address=false.
void AddDaemonClusterOptions(Options* opts, const std::string& program,
                             bool with_lockd_address);

// Finds and applies kdi.conf for `section`: the file named by --config if set,
// else $KDI_CONF if set, else DefaultConfigPath() if it exists (a missing
// default file is not an error; a missing named one is). *path_used gets the
// file read, or "" if none. Requires AddConfigOption(opts).
Status LoadConfigFile(Options* opts, const std::string& section, std::string* path_used);

}  // namespace kdi

#endif  // KDI_LIB_UTIL_OPTIONS_H_
