// Option registry; see options.h.
#include "lib/util/options.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <utility>

namespace kdi {

namespace {

[[noreturn]] void Bug(const std::string& msg) {
  std::cerr << "kdi options: programming error: " << msg << std::endl;
  std::abort();
}

const char* TypeName(OptionType t) {
  switch (t) {
    case OptionType::kString: return "a string";
    case OptionType::kInt: return "an integer";
    case OptionType::kBool: return "true or false";
    case OptionType::kDurationMs: return "a duration (ms, or with unit ms|s|m|h)";
    case OptionType::kSize: return "a size (bytes, or with unit K|M|G|T)";
  }
  return "?";
}

const char* DefaultValueName(OptionType t) {
  switch (t) {
    case OptionType::kString: return "VALUE";
    case OptionType::kInt: return "N";
    case OptionType::kBool: return "BOOL";
    case OptionType::kDurationMs: return "MS";
    case OptionType::kSize: return "BYTES";
  }
  return "VALUE";
}

bool ValidName(std::string_view n) {
  if (n.empty() || n[0] < 'a' || n[0] > 'z') return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Untrusted text, shortened and made printable for an error message.
std::string Shown(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 80) out += "...";
  return out + "'";
}

// Splits "123ms" into digits and unit; digits may not be empty.
bool SplitNumber(std::string_view text, uint64_t* value, std::string_view* unit) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
    i++;
  }
  if (i == 0) return false;
  *value = v;
  *unit = text.substr(i);
  while (!unit->empty() && unit->front() == ' ') unit->remove_prefix(1);
  return true;
}

bool Scale(uint64_t v, uint64_t mult, int64_t* out) {
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / mult) return false;
  *out = static_cast<int64_t>(v * mult);
  return true;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string RangeText(const Option& o, int64_t min, int64_t max) {
  auto lim = [](int64_t v) { return v == INT64_MIN || v == INT64_MAX; };
  if (lim(min) && lim(max)) return "";
  if (lim(max)) return ">= " + std::to_string(min);
  if (lim(min)) return "<= " + std::to_string(max);
  return std::to_string(min) + ".." + std::to_string(max);
}

}  // namespace

// ---- value parsers ----------------------------------------------------------

bool ParseBoolValue(std::string_view t, bool* out) {
  for (const char* s : {"true", "yes", "on", "1"}) {
    if (IEquals(t, s)) return *out = true, true;
  }
  for (const char* s : {"false", "no", "off", "0"}) {
    if (IEquals(t, s)) return *out = false, true;
  }
  return false;
}

bool ParseIntValue(std::string_view t, int64_t* out) {
  bool neg = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  uint64_t v;
  std::string_view unit;
  if (!SplitNumber(t, &v, &unit) || !unit.empty()) return false;
  uint64_t limit = neg ? static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1
                       : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (v > limit) return false;
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

bool ParseDurationMsValue(std::string_view t, int64_t* out) {
  uint64_t v;
  std::string_view unit;
  if (!SplitNumber(t, &v, &unit)) return false;
  uint64_t mult;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m" || unit == "min") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else return false;
  return Scale(v, mult, out);
}

bool ParseSizeValue(std::string_view t, int64_t* out) {
  uint64_t v;
  std::string_view unit;
  if (!SplitNumber(t, &v, &unit)) return false;
  int shift;
  if (unit.empty() || IEquals(unit, "b")) shift = 0;
  else if (IEquals(unit, "k") || IEquals(unit, "kib") || IEquals(unit, "kb")) shift = 10;
  else if (IEquals(unit, "m") || IEquals(unit, "mib") || IEquals(unit, "mb")) shift = 20;
  else if (IEquals(unit, "g") || IEquals(unit, "gib") || IEquals(unit, "gb")) shift = 30;
  else if (IEquals(unit, "t") || IEquals(unit, "tib") || IEquals(unit, "tb")) shift = 40;
  else return false;
  return Scale(v, uint64_t{1} << shift, out);
}

// ---- Option builders --------------------------------------------------------

Option& Option::ValueName(std::string v) {
  value_name_ = std::move(v);
  return *this;
}

Option& Option::Global() {
  const auto& keys = GlobalConfigKeys();
  if (std::find(keys.begin(), keys.end(), name_) == keys.end()) {
    Bug("option " + name_ + " marked Global() but not listed in GlobalConfigKeys()");
  }
  global_ = true;
  return *this;
}

Option& Option::FlagOnly() {
  flag_only_ = true;
  return *this;
}

Option& Option::Short(char c) {
  short_ = c;
  return *this;
}

Option& Option::Alias(std::string alias) {
  aliases_.push_back(std::move(alias));
  return *this;
}

Option& Option::Choices(std::vector<std::string> choices) {
  choices_ = std::move(choices);
  return *this;
}

Option& Option::Hidden() {
  hidden_ = true;
  return *this;
}

// ---- Options ----------------------------------------------------------------

Options::Options(std::string program, std::string usage, std::string summary)
    : program_(std::move(program)), usage_(std::move(usage)), summary_(std::move(summary)) {
  AddBool("help", false, "print this help and exit").FlagOnly().Short('h');
}

Option& Options::Add(const std::string& name, OptionType type, const std::string& help) {
  if (!ValidName(name)) Bug("bad option name '" + name + "'");
  if (by_name_.count(name)) Bug("option " + name + " declared twice in " + program_);
  auto o = std::make_unique<Option>();
  o->name_ = name;
  o->type_ = type;
  o->help_ = help;
  Option* raw = o.get();
  options_.push_back(std::move(o));
  by_name_.emplace(name, raw);
  return *raw;
}

Option& Options::AddString(const std::string& name, const std::string& def,
                           const std::string& help) {
  Option& o = Add(name, OptionType::kString, help);
  o.text_ = o.default_text_ = def;
  return o;
}

Option& Options::AddPath(const std::string& name, const std::string& def,
                         const std::string& help) {
  Option& o = AddString(name, def, help);
  o.path_ = true;
  o.value_name_ = "PATH";
  return o;
}

Option& Options::AddInt(const std::string& name, int64_t def, int64_t min, int64_t max,
                        const std::string& help) {
  Option& o = Add(name, OptionType::kInt, help);
  o.min_ = min;
  o.max_ = max;
  o.number_ = def;
  o.text_ = o.default_text_ = std::to_string(def);
  return o;
}

Option& Options::AddBool(const std::string& name, bool def, const std::string& help) {
  Option& o = Add(name, OptionType::kBool, help);
  o.number_ = def;
  o.text_ = o.default_text_ = def ? "true" : "false";
  return o;
}

Option& Options::AddDurationMs(const std::string& name, int64_t def, int64_t min, int64_t max,
                               const std::string& help) {
  Option& o = AddInt(name, def, min, max, help);
  o.type_ = OptionType::kDurationMs;
  return o;
}

Option& Options::AddSize(const std::string& name, int64_t def, int64_t min, int64_t max,
                         const std::string& help) {
  Option& o = AddInt(name, def, min, max, help);
  o.type_ = OptionType::kSize;
  return o;
}

bool Options::Has(std::string_view name) const { return by_name_.find(name) != by_name_.end(); }

Option* Options::Find(std::string_view name) {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

Option* Options::FindFlag(std::string_view flag) {
  std::string n(flag);
  std::replace(n.begin(), n.end(), '-', '_');
  if (Option* o = Find(n)) return o;
  for (auto& o : options_) {
    for (const std::string& a : o->aliases_) {
      if (a == n || a == flag) return o.get();
    }
  }
  return nullptr;
}

Status Options::SetOption(Option* o, std::string_view text, const std::string& origin) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument(origin + ": bad value " + Shown(text) + " for " + o->name_ +
                                   ": " + why);
  };
  int64_t n = 0;
  switch (o->type_) {
    case OptionType::kString:
      if (!o->choices_.empty() &&
          std::find(o->choices_.begin(), o->choices_.end(), text) == o->choices_.end()) {
        std::string list;
        for (const auto& c : o->choices_) list += (list.empty() ? "" : "|") + c;
        return bad("want one of " + list);
      }
      o->text_ = std::string(text);
      break;
    case OptionType::kBool: {
      bool b;
      if (!ParseBoolValue(text, &b)) return bad(std::string("want ") + TypeName(o->type_));
      o->number_ = b;
      o->text_ = b ? "true" : "false";
      break;
    }
    case OptionType::kInt:
    case OptionType::kDurationMs:
    case OptionType::kSize: {
      bool ok = o->type_ == OptionType::kInt          ? ParseIntValue(text, &n)
                : o->type_ == OptionType::kDurationMs ? ParseDurationMsValue(text, &n)
                                                      : ParseSizeValue(text, &n);
      if (!ok) return bad(std::string("want ") + TypeName(o->type_));
      if (n < o->min_ || n > o->max_) {
        return bad(std::to_string(n) + " is out of range " + RangeText(*o, o->min_, o->max_));
      }
      o->number_ = n;
      o->text_ = std::to_string(n);
      break;
    }
  }
  o->source_ = origin;
  o->set_ = true;
  return Status::OK();
}

Status Options::Set(std::string_view name, std::string_view text, const std::string& origin) {
  Option* o = Find(name);
  if (o == nullptr) {
    return Status::InvalidArgument(origin + ": unknown option " + Shown(name));
  }
  return SetOption(o, text, origin);
}

Status Options::ParseArgs(int argc, const char* const* argv, ArgMode mode,
                          std::vector<std::string>* operands) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; i++) args.emplace_back(argv[i]);
  return ParseArgs(args, mode, operands);
}

Status Options::ParseArgs(const std::vector<std::string>& args, ArgMode mode,
                          std::vector<std::string>* operands) {
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      operands->insert(operands->end(), args.begin() + i + 1, args.end());
      return Status::OK();
    }
    if (a.size() < 2 || a[0] != '-') {
      operands->push_back(a);
      if (mode == kStopAtOperand) {
        operands->insert(operands->end(), args.begin() + i + 1, args.end());
        return Status::OK();
      }
      continue;
    }
    Option* o = nullptr;
    std::string flag;
    bool has_value = false;
    std::string value;
    if (a[1] == '-') {
      std::string_view body(a);
      body.remove_prefix(2);
      size_t eq = body.find('=');
      std::string_view fname = body.substr(0, eq);
      if (eq != std::string_view::npos) {
        has_value = true;
        value = std::string(body.substr(eq + 1));
      }
      flag = "--" + std::string(fname);
      o = FindFlag(fname);
      if (o == nullptr && !has_value && fname.substr(0, 3) == "no-") {
        // --no-foo for a bool foo.
        Option* neg = FindFlag(fname.substr(3));
        if (neg != nullptr && neg->type_ == OptionType::kBool) {
          RETURN_NOT_OK(SetOption(neg, "false", flag));
          neg->from_command_line_ = true;
          continue;
        }
      }
    } else {
      // -c FILE, -cFILE, -h
      flag = a.substr(0, 2);
      for (auto& opt : options_) {
        if (opt->short_ == a[1]) o = opt.get();
      }
      if (o != nullptr && a.size() > 2) {
        has_value = true;
        value = a.substr(2);
      }
    }
    if (o == nullptr) {
      return Status::InvalidArgument("unknown option " + Shown(flag) + " (see --help)");
    }
    if (!has_value) {
      if (o->type_ == OptionType::kBool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return Status::InvalidArgument(flag + ": missing value");
      }
    }
    RETURN_NOT_OK(SetOption(o, value, flag));
    o->from_command_line_ = true;
  }
  return Status::OK();
}

Status Options::ApplyConfig(const ConfigFile& config, const std::string& section) {
  const auto& globals = GlobalConfigKeys();
  // [global] first, then the program's section, so the section wins.
  for (int pass = 0; pass < 2; pass++) {
    for (const ConfigEntry& e : config.entries()) {
      std::string where = config.origin() + ":" + std::to_string(e.line);
      bool is_global = e.section == "global";
      if (pass == 0 ? !is_global : e.section != section) continue;
      Option* o = Find(e.key);
      if (is_global) {
        if (std::find(globals.begin(), globals.end(), e.key) == globals.end()) {
          std::string hint;
          if (o != nullptr && !o->flag_only_) hint = "; set it in [" + section + "]";
          return Status::InvalidArgument(where + ": unknown key '" + e.key + "' in [global]" +
                                         hint);
        }
        if (o == nullptr) continue;  // a shared key this program does not use
      } else if (o == nullptr || o->flag_only_) {
        return Status::InvalidArgument(where + ": unknown key '" + e.key + "' in [" +
                                       e.section + "]");
      }
      if (o->from_command_line_) continue;
      RETURN_NOT_OK(SetOption(o, e.value, where));
      if (o->path_ && !o->text_.empty() && o->text_[0] != '/') {
        // A relative path in a config file is relative to the file's directory.
        size_t slash = config.origin().rfind('/');
        if (slash != std::string::npos) o->text_ = config.origin().substr(0, slash + 1) + o->text_;
      }
    }
  }
  return Status::OK();
}

void Options::MakePathsAbsolute(const std::string& cwd) {
  for (auto& o : options_) {
    if (o->path_ && !o->text_.empty() && o->text_[0] != '/') {
      o->text_ = cwd + (cwd.empty() || cwd.back() == '/' ? "" : "/") + o->text_;
    }
  }
}

const Option& Options::Get(std::string_view name, OptionType type) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) Bug("undeclared option " + std::string(name) + " in " + program_);
  const Option& o = *it->second;
  // Any option may be read as its text; typed reads must match the declaration.
  if (o.type_ != type && type != OptionType::kString) {
    Bug("option " + o.name_ + " read with the wrong type");
  }
  return o;
}

const std::string& Options::GetString(std::string_view name) const {
  return Get(name, OptionType::kString).text_;
}
int64_t Options::GetInt(std::string_view name) const { return Get(name, OptionType::kInt).number_; }
bool Options::GetBool(std::string_view name) const {
  return Get(name, OptionType::kBool).number_ != 0;
}
int64_t Options::GetDurationMs(std::string_view name) const {
  return Get(name, OptionType::kDurationMs).number_;
}
int64_t Options::GetSize(std::string_view name) const {
  return Get(name, OptionType::kSize).number_;
}
bool Options::IsSet(std::string_view name) const {
  return Get(name, OptionType::kString).set_;
}
const std::string& Options::Source(std::string_view name) const {
  return Get(name, OptionType::kString).source_;
}

std::vector<const Option*> Options::List() const {
  std::vector<const Option*> out;
  for (const auto& o : options_) out.push_back(o.get());
  return out;
}

std::string Options::HelpText() const {
  std::string out = "usage: " + program_ + (usage_.empty() ? "" : " " + usage_) + "\n";
  if (!summary_.empty()) out += summary_ + "\n";
  out += "\nOptions:\n";
  for (const auto& o : options_) {
    if (o->hidden_) continue;
    std::string line = "  ";
    if (o->short_) line += std::string("-") + o->short_ + ", ";
    line += "--" + o->name_;
    if (o->type_ != OptionType::kBool) {
      line += "=" + (o->value_name_.empty() ? DefaultValueName(o->type_) : o->value_name_);
    }
    for (const auto& a : o->aliases_) line += ", --" + a;
    out += line + "\n      " + o->help_;
    std::string extra;
    if (!o->choices_.empty()) {
      std::string list;
      for (const auto& c : o->choices_) list += (list.empty() ? "" : "|") + c;
      extra += "one of " + list;
    }
    std::string range = RangeText(*o, o->min_, o->max_);
    if (o->type_ != OptionType::kString && o->type_ != OptionType::kBool && !range.empty()) {
      extra += (extra.empty() ? "" : "; ") + std::string("range ") + range;
    }
    bool trivial = (o->type_ == OptionType::kString && o->default_text_.empty()) ||
                   (o->type_ == OptionType::kBool && o->flag_only_ && o->default_text_ == "false");
    if (!trivial) {
      extra += (extra.empty() ? "" : "; ") + std::string("default ") + o->default_text_;
    }
    if (!extra.empty()) out += " (" + extra + ")";
    out += "\n";
  }
  return out;
}

// ---- shared options ---------------------------------------------------------

const std::vector<std::string>& GlobalConfigKeys() {
  static const std::vector<std::string> keys = {
      "log_level", "log_target", "log_file", "lockd_address",
      "tls_ca_file", "tls_cert_file", "tls_key_file",
  };
  return keys;
}

std::string DefaultConfigPath() {
#ifdef KDI_SYSCONFDIR
  return std::string(KDI_SYSCONFDIR) + "/kdi/kdi.conf";
#else
  return "/etc/kdi/kdi.conf";
#endif
}

void AddConfigOption(Options* opts) {
  opts->AddPath("config", "", "configuration file (default: $KDI_CONF, else " +
                                  DefaultConfigPath() + " if it exists)")
      .FlagOnly()
      .Short('c')
      .ValueName("FILE");
}

void AddClusterOptions(Options* opts) {
  opts->AddString("lockd_address", "", "HOST:PORT of the cluster's lock service (lockd)")
      .Global()
      .ValueName("HOST:PORT");
  opts->AddPath("tls_ca_file", "", "PEM file of the cluster CA certificate")
      .Global()
      .ValueName("FILE");
  opts->AddPath("tls_cert_file", "", "PEM certificate this program presents")
      .Global()
      .ValueName("FILE");
  opts->AddPath("tls_key_file", "", "PEM private key of tls_cert_file")
      .Global()
      .ValueName("FILE");
}

void AddDaemonClusterOptions(Options* opts, const std::string& program,
                             bool with_lockd_address) {
  if (with_lockd_address) {
    opts->AddString("lockd_address", "", "HOST:PORT of the cluster's lock service (lockd)")
        .Global()
        .Alias("lockd")
        .ValueName("HOST:PORT");
  }
  opts->AddPath("tls_ca_file", "", "PEM file of the cluster CA certificate")
      .Global()
      .Alias("tls-ca")
      .ValueName("FILE");
  opts->AddPath("tls_cert_file", "", "PEM certificate " + program + " presents (role server)")
      .Global()
      .Alias("tls-cert")
      .ValueName("FILE");
  opts->AddPath("tls_key_file", "", "PEM private key of tls_cert_file")
      .Global()
      .Alias("tls-key")
      .ValueName("FILE");
}

Status LoadConfigFile(Options* opts, const std::string& section, std::string* path_used) {
  path_used->clear();
  std::string path = opts->GetString("config");
  bool named = !path.empty();
  if (!named) {
    const char* env = std::getenv("KDI_CONF");
    if (env != nullptr && *env != '\0') {
      path = env;
      named = true;
    } else {
      path = DefaultConfigPath();
      struct stat st;
      if (stat(path.c_str(), &st) != 0) return Status::OK();
    }
  }
  ConfigFile config;
  RETURN_NOT_OK(ConfigFile::Load(path, &config));
  RETURN_NOT_OK(opts->ApplyConfig(config, section));
  *path_used = path;
  return Status::OK();
}

}  // namespace kdi
