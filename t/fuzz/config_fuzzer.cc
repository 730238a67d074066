// Fuzz target for kdi.conf and the option registry. The input is parsed as a
// config file and applied to a registry with one option of every type; its
// lines are also used as a command line and as option values. Invariants:
// parsed entries are well-formed; a failed parse leaves nothing behind;
// parsed numbers respect their declared ranges.
#include <string>
#include <string_view>
#include <vector>

#include "lib/util/config_file.h"
#include "lib/util/options.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
void Declare(Options* o) {
  AddConfigOption(o);
  AddClusterOptions(o);
  o->AddString("lockd_name", "x", "a string").Alias("name");
  o->AddString("lockd_mode", "a", "a choice").Choices({"a", "b"});
  o->AddInt("lockd_count", 5, -10, 1000, "an int").Short('n');
  o->AddBool("lockd_flag", false, "a bool");
  o->AddDurationMs("lockd_lease_ms", 1000, 1, 3600000, "a duration");
  o->AddSize("lockd_cache_size", 4096, 0, int64_t{1} << 40, "a size");
  o->AddPath("lockd_data_dir", "d", "a path");
}

void CheckRanges(const Options& o) {
  KDI_FUZZ_CHECK(o.GetInt("lockd_count") >= -10 && o.GetInt("lockd_count") <= 1000);
  KDI_FUZZ_CHECK(o.GetDurationMs("lockd_lease_ms") >= 1);
  KDI_FUZZ_CHECK(o.GetSize("lockd_cache_size") >= 0);
  const std::string& mode = o.GetString("lockd_mode");
  KDI_FUZZ_CHECK(mode == "a" || mode == "b");
}
}  // namespace

int ConfigTarget(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ConfigFile config;
  Status s = ConfigFile::Parse(text, "fuzz.conf", &config);
  if (!s.ok()) {
    KDI_FUZZ_CHECK(config.entries().empty());
    KDI_FUZZ_CHECK(s.IsInvalidArgument());
    KDI_FUZZ_CHECK(s.message().rfind("fuzz.conf:", 0) == 0);
  }
  for (const ConfigEntry& e : config.entries()) {
    KDI_FUZZ_CHECK(IsConfigSection(e.section));
    KDI_FUZZ_CHECK(!e.key.empty() && e.line >= 1);
    KDI_FUZZ_CHECK(e.value.size() <= kMaxConfigLineBytes);
  }
  {
    Options o("lockd");
    Declare(&o);
    Status a = o.ApplyConfig(config, "lockd");
    if (!a.ok()) KDI_FUZZ_CHECK(a.message().rfind("fuzz.conf:", 0) == 0);
    CheckRanges(o);
  }
  // The lines as a command line.
  std::vector<std::string> args;
  size_t pos = 0;
  while (pos <= text.size() && args.size() < 64) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    args.emplace_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  for (auto mode : {Options::kInterleaved, Options::kStopAtOperand}) {
    Options o("lockd");
    Declare(&o);
    std::vector<std::string> operands;
    (void)o.ParseArgs(args, mode, &operands);
    KDI_FUZZ_CHECK(operands.size() <= args.size());
    CheckRanges(o);
    (void)o.HelpText();
  }
  // The whole input as a value of every type.
  int64_t v;
  bool b;
  if (ParseDurationMsValue(text, &v)) KDI_FUZZ_CHECK(v >= 0);
  if (ParseSizeValue(text, &v)) KDI_FUZZ_CHECK(v >= 0);
  (void)ParseIntValue(text, &v);
  (void)ParseBoolValue(text, &b);
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::ConfigTarget(data, size);
}
#endif
