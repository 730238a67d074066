// Cell formats of kdicli (see format.h for the grammar).
#include "kdicli/format.h"

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kdi/scan_predicate.h"

namespace kdi::cli {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1-4), or 0 if the bytes
// there are not one (overlong forms, surrogates and code points above
// U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return 0;
  if (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) return 0;
  return n;
}

void AppendHexEscape(std::string* out, unsigned char c) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('\\');
  out->push_back('x');
  out->push_back(kHex[c >> 4]);
  out->push_back(kHex[c & 15]);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Columns of display width used by the text format (code points, roughly).
size_t DisplayWidth(std::string_view s) {
  size_t w = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) w++;
  }
  return w;
}

Status ParseTime(std::string_view text, int64_t* out) {
  if (text.empty()) return Status::InvalidArgument("empty time");
  bool digits = true;
  size_t start = (text[0] == '-') ? 1 : 0;
  if (start == text.size()) digits = false;
  for (size_t i = start; i < text.size(); i++) {
    if (text[i] < '0' || text[i] > '9') digits = false;
  }
  if (digits) {
    errno = 0;
    std::string s(text);
    char* end = nullptr;
    long long v = strtoll(s.c_str(), &end, 10);
    if (errno == ERANGE || *end != '\0') {
      return Status::InvalidArgument("time out of range: " + s);
    }
    *out = v;
    return Status::OK();
  }
  return ParseTimeLiteral(text, out);
}

using nlohmann::json;

json BytesToJson(std::string_view bytes) {
  if (IsValidUtf8(bytes)) return json(std::string(bytes));
  json o = json::object();
  o["base64"] = Base64Encode(bytes);
  return o;
}

Status JsonToBytes(const json& j, const char* field, std::string* out) {
  if (j.is_string()) {
    *out = j.get<std::string>();
    return Status::OK();
  }
  if (j.is_object() && j.size() == 1 && j.contains("base64") && j["base64"].is_string()) {
    Status s = Base64Decode(j["base64"].get<std::string>(), out);
    if (!s.ok()) return s.CloneAndPrepend(field);
    return Status::OK();
  }
  return Status::InvalidArgument(std::string(field) +
                                 ": expected a string or {\"base64\": \"...\"}");
}

}  // namespace

Status ParseCellFormat(std::string_view name, CellFormat* out) {
  if (name == "tsv") {
    *out = CellFormat::kTsv;
  } else if (name == "json") {
    *out = CellFormat::kJson;
  } else if (name == "text") {
    *out = CellFormat::kText;
  } else {
    return Status::InvalidArgument("unknown format '" + std::string(name) +
                                   "' (expected tsv, json or text)");
  }
  return Status::OK();
}

const char* CellFormatName(CellFormat format) {
  switch (format) {
    case CellFormat::kTsv: return "tsv";
    case CellFormat::kJson: return "json";
    case CellFormat::kText: return "text";
  }
  return "?";
}

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string EscapeBytes(std::string_view bytes, bool escape_leading_brace) {
  std::string out;
  out.reserve(bytes.size() + 8);
  for (size_t i = 0; i < bytes.size();) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (i == 0 && c == '{' && escape_leading_brace) {
      AppendHexEscape(&out, c);
      i++;
      continue;
    }
    switch (c) {
      case '\\': out += "\\\\"; i++; continue;
      case '\t': out += "\\t"; i++; continue;
      case '\n': out += "\\n"; i++; continue;
      case '\r': out += "\\r"; i++; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7f) {
      AppendHexEscape(&out, c);
      i++;
      continue;
    }
    size_t n = Utf8SequenceLength(bytes, i);
    if (n == 0) {
      AppendHexEscape(&out, c);
      i++;
      continue;
    }
    out.append(bytes.data() + i, n);
    i += n;
  }
  return out;
}

Status UnescapeBytes(std::string_view text, std::string* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (c == '\t' || c == '\n') {
      return Status::InvalidArgument("raw tab or newline inside a field");
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (i + 1 >= text.size()) return Status::InvalidArgument("dangling '\\' at end of field");
    char e = text[++i];
    switch (e) {
      case '\\': out->push_back('\\'); break;
      case 't': out->push_back('\t'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 'x': {
        int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
        int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          return Status::InvalidArgument("bad \\x escape (expected two hex digits)");
        }
        out->push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      default:
        return Status::InvalidArgument(std::string("unknown escape '\\") + e + "'");
    }
  }
  return Status::OK();
}

std::string Base64Encode(std::string_view bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

Status Base64Decode(std::string_view text, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return Status::InvalidArgument("base64: length not a multiple of 4");
  out->clear();
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      char c = text[i + k];
      if (c == '=' && last && k >= 2) {
        v[k] = 0;
        pad++;
        continue;
      }
      if (pad > 0) return Status::InvalidArgument("base64: data after padding");
      v[k] = value(c);
      if (v[k] < 0) return Status::InvalidArgument("base64: invalid character");
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xff));
  }
  return Status::OK();
}

std::string FormatCellTsv(const Cell& cell) {
  std::string line = EscapeBytes(cell.row, /*escape_leading_brace=*/true);
  line.push_back('\t');
  line += EscapeBytes(cell.column);
  line.push_back('\t');
  line += std::to_string(cell.timestamp);
  line.push_back('\t');
  line += EscapeBytes(cell.value);
  return line;
}

std::string FormatCellJson(const Cell& cell) {
  json o = json::object();
  o["row"] = BytesToJson(cell.row);
  o["column"] = BytesToJson(cell.column);
  o["time"] = cell.timestamp;
  o["value"] = BytesToJson(cell.value);
  return o.dump();
}

Status ParseCellTsv(std::string_view line, Cell* out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view fields[4];
  size_t n = 0;
  size_t start = 0;
  for (size_t i = 0; i <= line.size(); i++) {
    if (i == line.size() || line[i] == '\t') {
      if (n == 4) return Status::InvalidArgument("more than 4 tab-separated fields");
      fields[n++] = line.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != 4) {
    return Status::InvalidArgument("expected 4 tab-separated fields (ROW COLUMN TIME VALUE), got " +
                                   std::to_string(n));
  }
  Cell c;
  RETURN_NOT_OK_PREPEND(UnescapeBytes(fields[0], &c.row), "row");
  RETURN_NOT_OK_PREPEND(UnescapeBytes(fields[1], &c.column), "column");
  RETURN_NOT_OK_PREPEND(ParseTime(fields[2], &c.timestamp), "time");
  RETURN_NOT_OK_PREPEND(UnescapeBytes(fields[3], &c.value), "value");
  if (c.row.empty()) return Status::InvalidArgument("empty row");
  *out = std::move(c);
  return Status::OK();
}

Status ParseCellJson(std::string_view line, Cell* out) {
  json j = json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("expected a JSON object");
  Cell c;
  bool have_row = false, have_column = false, have_time = false, have_value = false;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "row") {
      RETURN_NOT_OK(JsonToBytes(it.value(), "row", &c.row));
      have_row = true;
    } else if (k == "column") {
      RETURN_NOT_OK(JsonToBytes(it.value(), "column", &c.column));
      have_column = true;
    } else if (k == "value") {
      RETURN_NOT_OK(JsonToBytes(it.value(), "value", &c.value));
      have_value = true;
    } else if (k == "time") {
      if (it.value().is_number_integer()) {
        c.timestamp = it.value().get<int64_t>();
      } else if (it.value().is_string()) {
        RETURN_NOT_OK_PREPEND(ParseTime(it.value().get<std::string>(), &c.timestamp), "time");
      } else {
        return Status::InvalidArgument("time: expected an integer or a time string");
      }
      have_time = true;
    } else {
      return Status::InvalidArgument("unknown key \"" + k + "\"");
    }
  }
  if (!have_row || !have_column || !have_time || !have_value) {
    return Status::InvalidArgument("missing key (need row, column, time and value)");
  }
  if (c.row.empty()) return Status::InvalidArgument("empty row");
  *out = std::move(c);
  return Status::OK();
}

Status ParseCellLine(std::string_view line, Cell* out) {
  if (!line.empty() && line[0] == '{') return ParseCellJson(line, out);
  return ParseCellTsv(line, out);
}

void CellWriter::Write(const Cell& cell) {
  count_++;
  switch (format_) {
    case CellFormat::kTsv: {
      std::string line = FormatCellTsv(cell);
      line.push_back('\n');
      out_->write(line.data(), line.size());
      break;
    }
    case CellFormat::kJson: {
      std::string line = FormatCellJson(cell);
      line.push_back('\n');
      out_->write(line.data(), line.size());
      break;
    }
    case CellFormat::kText:
      pending_.push_back({EscapeBytes(cell.row), EscapeBytes(cell.column),
                          FormatTimeIso8601(cell.timestamp), EscapeBytes(cell.value)});
      if (pending_.size() >= kTextBlock) FlushText();
      break;
  }
}

void CellWriter::FlushText() {
  if (pending_.empty()) return;
  size_t width[3] = {0, 0, 0};
  for (const auto& r : pending_) {
    for (int k = 0; k < 3; k++) width[k] = std::max(width[k], DisplayWidth(r[k]));
  }
  std::string out;
  for (const auto& r : pending_) {
    for (int k = 0; k < 3; k++) {
      out += r[k];
      out.append(width[k] - DisplayWidth(r[k]) + 2, ' ');
    }
    out += r[3];
    out.push_back('\n');
  }
  out_->write(out.data(), out.size());
  pending_.clear();
}

Status CellWriter::Finish() {
  if (format_ == CellFormat::kText) FlushText();
  out_->flush();
  if (!out_->good()) return Status::IOError("writing output failed");
  return Status::OK();
}

}  // namespace kdi::cli
