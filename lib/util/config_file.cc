// kdi.conf parser; the grammar is in config.h.
#include "lib/util/config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

namespace kdi {

const char* const kConfigSections[] = {"global", "lockd", "masterd", "tabletd", "kdicli"};
const size_t kNumConfigSections = sizeof(kConfigSections) / sizeof(kConfigSections[0]);

bool IsConfigSection(std::string_view name) {
  for (size_t i = 0; i < kNumConfigSections; i++) {
    if (name == kConfigSections[i]) return true;
  }
  return false;
}

namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
  return s;
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Printable rendering of untrusted text for error messages.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 64)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '\'' || c == '\\') {
      char buf[8];
      snprintf(buf, sizeof(buf), "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > 64) out += "...";
  out += "'";
  return out;
}

// Parses the value part (after '='). Returns false with *err set on bad syntax.
bool ParseValue(std::string_view v, std::string* value, std::string* err) {
  v = Trim(v);
  if (!v.empty() && v.front() == '"') {
    value->clear();
    size_t i = 1;
    for (; i < v.size(); i++) {
      char c = v[i];
      if (c == '"') break;
      if (c == '\\') {
        if (i + 1 >= v.size() || (v[i + 1] != '"' && v[i + 1] != '\\')) {
          *err = "bad escape in quoted value (only \\\" and \\\\ are allowed)";
          return false;
        }
        c = v[++i];
      }
      value->push_back(c);
    }
    if (i >= v.size()) {
      *err = "unterminated quoted value";
      return false;
    }
    std::string_view rest = Trim(v.substr(i + 1));
    if (!rest.empty() && rest.front() != '#') {
      *err = "unexpected text after quoted value: " + Quote(rest);
      return false;
    }
    return true;
  }
  // Unquoted: a '#' after a blank starts a comment.
  for (size_t i = 1; i < v.size(); i++) {
    if (v[i] == '#' && IsBlank(v[i - 1])) {
      v = Trim(v.substr(0, i));
      break;
    }
  }
  if (!v.empty() && v.front() == '#') v = std::string_view();
  *value = std::string(v);
  return true;
}

}  // namespace

Status ConfigFile::Parse(std::string_view text, const std::string& origin, ConfigFile* out) {
  out->origin_ = origin;
  out->entries_.clear();
  if (text.size() > kMaxConfigFileBytes) {
    return Status::InvalidArgument(origin + ": file too large (" + std::to_string(text.size()) +
                                   " bytes; limit " + std::to_string(kMaxConfigFileBytes) + ")");
  }
  std::vector<ConfigEntry> entries;
  std::map<std::pair<std::string, std::string>, int> seen;  // (section, key) -> line
  std::string section = "global";
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    line_no++;
    std::string where = origin + ":" + std::to_string(line_no) + ": ";
    if (raw.size() > kMaxConfigLineBytes) {
      return Status::InvalidArgument(where + "line too long (limit " +
                                     std::to_string(kMaxConfigLineBytes) + " bytes)");
    }
    if (raw.find('\0') != std::string_view::npos) {
      return Status::InvalidArgument(where + "NUL byte in line");
    }
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    if (line.front() == '[') {
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        return Status::InvalidArgument(where + "section header without ']'");
      }
      std::string_view rest = Trim(line.substr(close + 1));
      if (!rest.empty() && rest.front() != '#') {
        return Status::InvalidArgument(where + "unexpected text after section header: " +
                                       Quote(rest));
      }
      std::string_view name = Trim(line.substr(1, close - 1));
      if (!IsConfigSection(name)) {
        std::string known;
        for (size_t i = 0; i < kNumConfigSections; i++) {
          known += (i ? ", " : "");
          known += kConfigSections[i];
        }
        return Status::InvalidArgument(where + "unknown section " + Quote(name) +
                                       " (known: " + known + ")");
      }
      section = std::string(name);
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(where + "expected 'key = value', got " + Quote(line));
    }
    std::string_view key = Trim(line.substr(0, eq));
    if (key.empty()) return Status::InvalidArgument(where + "missing key before '='");
    for (char c : key) {
      if (!IsKeyChar(c)) {
        return Status::InvalidArgument(where + "bad key " + Quote(key) +
                                       " (keys are lower-case letters, digits and '_')");
      }
    }
    ConfigEntry e;
    std::string err;
    if (!ParseValue(line.substr(eq + 1), &e.value, &err)) {
      return Status::InvalidArgument(where + err);
    }
    e.section = section;
    e.key = std::string(key);
    e.line = line_no;
    auto ins = seen.emplace(std::make_pair(e.section, e.key), line_no);
    if (!ins.second) {
      return Status::InvalidArgument(where + "duplicate key '" + e.key + "' in [" + section +
                                     "] (first set at line " +
                                     std::to_string(ins.first->second) + ")");
    }
    entries.push_back(std::move(e));
  }
  out->entries_ = std::move(entries);
  return Status::OK();
}

Status ConfigFile::Load(const std::string& path, ConfigFile* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus("opening config file " + path, errno);
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close(fd);
      return ErrnoToStatus("reading config file " + path, err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {
      close(fd);
      return Status::InvalidArgument(path + ": file too large (limit " +
                                     std::to_string(kMaxConfigFileBytes) + " bytes)");
    }
  }
  close(fd);
  return Parse(text, path, out);
}

const ConfigEntry* ConfigFile::Find(std::string_view section, std::string_view key) const {
  for (const ConfigEntry& e : entries_) {
    if (e.section == section && e.key == key) return &e;
  }
  return nullptr;
}

}  // namespace kdi
