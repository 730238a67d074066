// Implementation of kdi::Schema: validation, text and binary forms.
#include "kdi/schema.h"

#include <cerrno>
#include <cstdlib>

#include "kdi/cell.h"
#include "lib/util/coding.h"

namespace kdi {

namespace {

constexpr uint8_t kSchemaVersion = 1;
constexpr size_t kMaxFamilyNameBytes = 1024;

Status CheckFamilyName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("empty column family name");
  if (name.size() > kMaxFamilyNameBytes) {
    return Status::InvalidArgument("column family name longer than 1024 bytes");
  }
  if (name.find(':') != std::string_view::npos) {
    return Status::InvalidArgument("column family name contains ':': " + std::string(name));
  }
  // ',' separates families in the text form, as white space does.
  if (name.find(',') != std::string_view::npos) {
    return Status::InvalidArgument("column family name contains ',': " + std::string(name));
  }
  for (char c : name) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return Status::InvalidArgument("column family name contains white space: '" +
                                     std::string(name) + "'");
    }
  }
  return Status::OK();
}

bool ParseUint(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace

bool FamilyOptions::operator==(const FamilyOptions& o) const {
  return name == o.name && max_versions == o.max_versions &&
         max_age_seconds == o.max_age_seconds && compression == o.compression;
}

std::string FamilyOptions::ToString() const {
  std::string out = name;
  if (max_versions != 0) out += ":versions=" + std::to_string(max_versions);
  if (max_age_seconds != 0) out += ":ttl=" + std::to_string(max_age_seconds);
  if (compression == Compression::kZlib) out += ":compress=zlib";
  return out;
}

Status FamilyOptions::Parse(std::string_view spec, FamilyOptions* out) {
  FamilyOptions f;
  size_t colon = spec.find(':');
  f.name = std::string(spec.substr(0, colon));
  RETURN_NOT_OK_PREPEND(CheckFamilyName(f.name), "family spec '" + std::string(spec) + "'");
  while (colon != std::string_view::npos) {
    std::string_view rest = spec.substr(colon + 1);
    size_t next = rest.find(':');
    std::string_view opt = rest.substr(0, next);
    colon = next == std::string_view::npos ? next : colon + 1 + next;
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? "" : opt.substr(eq + 1);
    uint64_t n = 0;
    if (key == "versions" && ParseUint(val, UINT32_MAX, &n)) {
      f.max_versions = static_cast<uint32_t>(n);
    } else if (key == "ttl" && ParseUint(val, INT64_MAX / 1000000, &n)) {
      f.max_age_seconds = static_cast<int64_t>(n);
    } else if (key == "compress" && (val == "zlib" || val == "none")) {
      f.compression = val == "zlib" ? Compression::kZlib : Compression::kNone;
    } else {
      return Status::InvalidArgument(
          "family spec '" + std::string(spec) + "': bad option '" + std::string(opt) +
          "' (expected versions=N, ttl=SECONDS or compress=zlib|none)");
    }
  }
  *out = std::move(f);
  return Status::OK();
}

Schema Schema::AcceptAny() {
  Schema s;
  FamilyOptions f;
  f.name = kWildcard;
  s.families_.push_back(f);
  return s;
}

Status Schema::AddFamily(const FamilyOptions& family) {
  RETURN_NOT_OK(CheckFamilyName(family.name));
  if (family.max_age_seconds < 0 || family.max_age_seconds > INT64_MAX / 1000000) {
    return Status::InvalidArgument("family " + family.name + ": ttl out of range");
  }
  if (family.compression != Compression::kNone && family.compression != Compression::kZlib) {
    return Status::InvalidArgument("family " + family.name + ": unknown compression");
  }
  for (const FamilyOptions& f : families_) {
    if (f.name == family.name) {
      return Status::InvalidArgument("duplicate column family " + family.name);
    }
  }
  if (families_.size() >= kMaxFamilies) {
    return Status::InvalidArgument("too many column families");
  }
  families_.push_back(family);
  return Status::OK();
}

const FamilyOptions* Schema::FindFamily(std::string_view family) const {
  const FamilyOptions* wildcard = nullptr;
  for (const FamilyOptions& f : families_) {
    if (f.name == family) return &f;
    if (f.name == kWildcard) wildcard = &f;
  }
  return wildcard;
}

const FamilyOptions* Schema::FindFamilyOfColumn(std::string_view column) const {
  return FindFamily(ColumnFamily(column));
}

std::string Schema::ToString() const {
  std::string out;
  for (const FamilyOptions& f : families_) {
    if (!out.empty()) out.push_back(' ');
    out += f.ToString();
  }
  return out;
}

Status Schema::Parse(std::string_view text, Schema* out) {
  Schema s;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] != ' ' && text[j] != '\t' && text[j] != '\n' &&
           text[j] != '\r' && text[j] != ',') {
      ++j;
    }
    FamilyOptions f;
    RETURN_NOT_OK(FamilyOptions::Parse(text.substr(i, j - i), &f));
    RETURN_NOT_OK(s.AddFamily(f));
    i = j;
  }
  *out = std::move(s);
  return Status::OK();
}

void Schema::EncodeTo(std::string* dst) const {
  dst->push_back(static_cast<char>(kSchemaVersion));
  PutVarint32(dst, static_cast<uint32_t>(families_.size()));
  for (const FamilyOptions& f : families_) {
    PutLengthPrefixed(dst, f.name);
    PutVarint32(dst, f.max_versions);
    PutVarsint64(dst, f.max_age_seconds);
    dst->push_back(static_cast<char>(f.compression));
  }
}

Status Schema::DecodeFrom(std::string_view src, Schema* out) {
  Decoder d(src);
  std::string_view version;
  if (!d.GetBytes(1, &version) || version[0] != static_cast<char>(kSchemaVersion)) {
    return Status::InvalidArgument("schema: unsupported encoding version");
  }
  uint32_t n = 0;
  if (!d.GetCount(&n, 4, kMaxFamilies)) return Status::InvalidArgument("schema: bad count");
  Schema s;
  for (uint32_t i = 0; i < n; ++i) {
    FamilyOptions f;
    std::string_view comp;
    if (!d.GetLengthPrefixed(&f.name, kMaxFamilyNameBytes) || !d.GetVarint32(&f.max_versions) ||
        !d.GetVarsint64(&f.max_age_seconds) || !d.GetBytes(1, &comp)) {
      return Status::InvalidArgument("schema: truncated family");
    }
    f.compression = static_cast<Compression>(static_cast<uint8_t>(comp[0]));
    RETURN_NOT_OK_PREPEND(s.AddFamily(f), "schema");
  }
  if (!d.empty()) return Status::InvalidArgument("schema: trailing bytes");
  *out = std::move(s);
  return Status::OK();
}

}  // namespace kdi
