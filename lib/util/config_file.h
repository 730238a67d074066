// kdi.conf: the one configuration file of a KDI installation (see kdi.conf(5)).
//
// Grammar (one construct per line; leading and trailing blanks ignored):
//
//   # comment                 a line whose first non-blank character is '#'
//   [section]                 one of kConfigSections; keys after it belong to it
//   key = value               key: [a-z0-9_]+ ; value: the rest of the line
//   key = "quoted value"      \" and \\ are the only escapes; may hold '#'
//
// In an unquoted value, a '#' preceded by a blank starts a comment. Keys before
// the first section header belong to [global]. A key may appear once per
// section (a section header may be repeated; its keys merge). A line is at most
// kMaxConfigLineBytes and a file at most kMaxConfigFileBytes.
//
// The parser only checks syntax and section names. Whether a key exists and
// whether its value is valid is decided by the program's option registry
// (lib/util/options.h), which reports errors with the same "FILE:LINE: " prefix.
//
// A ConfigFile is a value: thread-compatible, no hidden state.
#ifndef KDI_LIB_UTIL_CONFIG_FILE_H_
#define KDI_LIB_UTIL_CONFIG_FILE_H_

#include <string>
#include <string_view>
#include <vector>

#include "kdi/status.h"

namespace kdi {

// The sections a kdi.conf may contain, in the order kdi.conf(5) lists them.
extern const char* const kConfigSections[];
extern const size_t kNumConfigSections;
bool IsConfigSection(std::string_view name);

constexpr size_t kMaxConfigLineBytes = 4096;
constexpr size_t kMaxConfigFileBytes = 1 << 20;

struct ConfigEntry {
  std::string section;
  std::string key;
  std::string value;
  int line = 0;  // 1-based line number in the file
};

class ConfigFile {
 public:
  ConfigFile() = default;

  // Parses text. origin names the file in error messages ("kdi.conf:12: ...").
  // On error *out is left empty.
  static Status Parse(std::string_view text, const std::string& origin, ConfigFile* out);

  // Reads and parses the file at path. NotFound if it does not exist; errors
  // name the path.
  static Status Load(const std::string& path, ConfigFile* out);

  const std::string& origin() const { return origin_; }
  // Entries in file order.
  const std::vector<ConfigEntry>& entries() const { return entries_; }

  // Value of section/key, or nullptr.
  const ConfigEntry* Find(std::string_view section, std::string_view key) const;

 private:
  std::string origin_;
  std::vector<ConfigEntry> entries_;
};

}  // namespace kdi

#endif  // KDI_LIB_UTIL_CONFIG_FILE_H_
