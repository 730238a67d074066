// ScanPredicate::Parse: a hand-written lexer and recursive-descent parser for the
// grammar at the top of kdi/scan_predicate.h. Errors name the 0-based byte
// position and the token where parsing stopped.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <limits>

#include "kdi/scan_predicate.h"

namespace kdi {

namespace {

enum class Tok { kEnd, kString, kAtTime, kBare, kOp };
enum class Op { kLt, kLe, kGt, kGe, kEq, kPrefix };
enum class Field { kRow, kColumn, kTime };

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;
  std::string text;   // source text of the token
  std::string value;  // decoded string literal
  Op op = Op::kEq;
};

bool IsBareChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '.' ||
         c == '+' || c == '-';
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Status Run(ScanPredicate* out) {
    RETURN_NOT_OK(Advance());
    ScanPredicate p;
    StringIntervalSet rows = StringIntervalSet::All();
    StringIntervalSet columns = StringIntervalSet::All();
    TimeIntervalSet times = TimeIntervalSet::All();
    bool have_history = false;
    int64_t history = 0;
    if (tok_.kind == Tok::kEnd) {
      *out = p;
      return Status::OK();
    }
    for (;;) {
      if (tok_.kind == Tok::kBare && EqualsIgnoreCase(tok_.text, "history")) {
        Token at = tok_;
        if (have_history) return Error(at, "'history' given twice");
        RETURN_NOT_OK(Advance());
        if (tok_.kind != Tok::kOp || tok_.op != Op::kEq) return Error(tok_, "expected '='");
        RETURN_NOT_OK(Advance());
        if (tok_.kind != Tok::kBare || !ParseInteger(tok_.text, &history)) {
          return Error(tok_, "expected an integer after 'history ='");
        }
        if (history == 0) return Error(tok_, "history must not be 0");
        have_history = true;
        RETURN_NOT_OK(Advance());
      } else {
        Field field = Field::kRow;
        StringIntervalSet sset;
        TimeIntervalSet tset;
        RETURN_NOT_OK(ParseIntervalSet(&field, &sset, &tset));
        if (field == Field::kRow) {
          rows = rows.Intersect(sset);
        } else if (field == Field::kColumn) {
          columns = columns.Intersect(sset);
        } else {
          times = times.Intersect(tset);
        }
      }
      if (tok_.kind == Tok::kEnd) break;
      if (tok_.kind == Tok::kBare && EqualsIgnoreCase(tok_.text, "and")) {
        RETURN_NOT_OK(Advance());
        continue;
      }
      return Error(tok_, "expected 'and' or the end of the predicate");
    }
    p.SetRows(std::move(rows)).SetColumns(std::move(columns)).SetTimes(std::move(times));
    p.SetHistory(history);
    *out = std::move(p);
    return Status::OK();
  }

 private:
  Status Error(const Token& t, const std::string& what) const {
    std::string msg = "predicate: at position " + std::to_string(t.pos);
    if (t.kind == Tok::kEnd) {
      msg += " (end of input)";
    } else {
      msg += " near '" + t.text + "'";
    }
    return Status::InvalidArgument(msg + ": " + what);
  }

  static bool ParseInteger(std::string_view s, int64_t* out) {
    std::string t(s);
    if (t.empty() || t.size() > 20) return false;
    size_t i = t[0] == '-' || t[0] == '+' ? 1 : 0;
    if (i == t.size()) return false;
    for (size_t j = i; j < t.size(); ++j) {
      if (t[j] < '0' || t[j] > '9') return false;
    }
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(t.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = v;
    return true;
  }

  Status Advance() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    Token t;
    t.pos = pos_;
    if (pos_ >= text_.size()) {
      t.kind = Tok::kEnd;
      tok_ = std::move(t);
      return Status::OK();
    }
    char c = text_[pos_];
    if (c == '"') return LexString();
    if (c == '<' || c == '>' || c == '=' || c == '~') {
      t.kind = Tok::kOp;
      bool eq_next = pos_ + 1 < text_.size() && text_[pos_ + 1] == '=';
      if (c == '~') {
        if (!eq_next) {
          t.text = "~";
          return Error(t, "expected '~=' (starts with)");
        }
        t.op = Op::kPrefix;
      } else if (c == '=') {
        t.op = Op::kEq;
        eq_next = false;
      } else if (c == '<') {
        t.op = eq_next ? Op::kLe : Op::kLt;
      } else {
        t.op = eq_next ? Op::kGe : Op::kGt;
      }
      size_t len = (c == '~' || eq_next) ? 2 : 1;
      t.text = std::string(text_.substr(pos_, len));
      pos_ += len;
      tok_ = std::move(t);
      return Status::OK();
    }
    if (c == '@' || IsBareChar(c)) {
      size_t end = pos_ + 1;
      while (end < text_.size() && IsBareChar(text_[end])) ++end;
      t.kind = c == '@' ? Tok::kAtTime : Tok::kBare;
      t.text = std::string(text_.substr(pos_, end - pos_));
      pos_ = end;
      tok_ = std::move(t);
      return Status::OK();
    }
    t.kind = Tok::kBare;
    t.text = std::string(1, c);
    return Error(t, "unexpected character");
  }

  Status LexString() {
    Token t;
    t.kind = Tok::kString;
    t.pos = pos_;
    size_t i = pos_ + 1;
    while (i < text_.size() && text_[i] != '"') {
      char c = text_[i];
      if (c != '\\') {
        t.value.push_back(c);
        ++i;
        continue;
      }
      if (i + 1 >= text_.size()) break;
      char e = text_[i + 1];
      switch (e) {
        case '"': t.value.push_back('"'); i += 2; break;
        case '\\': t.value.push_back('\\'); i += 2; break;
        case 'n': t.value.push_back('\n'); i += 2; break;
        case 't': t.value.push_back('\t'); i += 2; break;
        case 'r': t.value.push_back('\r'); i += 2; break;
        case 'x': {
          int h = i + 2 < text_.size() ? HexValue(text_[i + 2]) : -1;
          int l = i + 3 < text_.size() ? HexValue(text_[i + 3]) : -1;
          if (h < 0 || l < 0) {
            Token bad;
            bad.kind = Tok::kString;
            bad.pos = i;
            bad.text = std::string(text_.substr(i, std::min<size_t>(4, text_.size() - i)));
            return Error(bad, "bad \\x escape (expected two hex digits)");
          }
          t.value.push_back(static_cast<char>(h * 16 + l));
          i += 4;
          break;
        }
        default: {
          Token bad;
          bad.kind = Tok::kString;
          bad.pos = i;
          bad.text = std::string(text_.substr(i, 2));
          return Error(bad, "unknown escape (use \\\" \\\\ \\xNN \\n \\t \\r)");
        }
      }
    }
    if (i >= text_.size()) {
      t.text = std::string(text_.substr(pos_, std::min<size_t>(20, text_.size() - pos_)));
      return Error(t, "unterminated string literal");
    }
    t.text = std::string(text_.substr(pos_, i + 1 - pos_));
    pos_ = i + 1;
    tok_ = std::move(t);
    return Status::OK();
  }

  bool IsField(const Token& t, Field* f) const {
    if (t.kind != Tok::kBare) return false;
    if (EqualsIgnoreCase(t.text, "row")) {
      *f = Field::kRow;
    } else if (EqualsIgnoreCase(t.text, "column")) {
      *f = Field::kColumn;
    } else if (EqualsIgnoreCase(t.text, "time")) {
      *f = Field::kTime;
    } else {
      return false;
    }
    return true;
  }

  static bool IsLiteral(const Token& t) {
    return t.kind == Tok::kString || t.kind == Tok::kAtTime ||
           (t.kind == Tok::kBare && !t.text.empty() && std::isdigit(static_cast<unsigned char>(t.text[0])));
  }

  static Op Flip(Op op) {
    switch (op) {
      case Op::kLt: return Op::kGt;
      case Op::kLe: return Op::kGe;
      case Op::kGt: return Op::kLt;
      case Op::kGe: return Op::kLe;
      default: return op;
    }
  }

  // INTERVALSET := INTERVAL ( 'or' INTERVAL )*, all on one field.
  Status ParseIntervalSet(Field* field, StringIntervalSet* sset, TimeIntervalSet* tset) {
    bool first = true;
    for (;;) {
      Token start = tok_;
      Field f = Field::kRow;
      StringIntervalSet s;
      TimeIntervalSet t;
      RETURN_NOT_OK(ParseInterval(&f, &s, &t));
      if (first) {
        *field = f;
        first = false;
      } else if (f != *field) {
        return Error(start, "every interval joined by 'or' must be on the same field");
      }
      sset->AddAll(s);
      for (const TimeInterval& i : t.intervals()) tset->Add(i);
      if (tok_.kind == Tok::kBare && EqualsIgnoreCase(tok_.text, "or")) {
        RETURN_NOT_OK(Advance());
        continue;
      }
      return Status::OK();
    }
  }

  // INTERVAL := ( LITERAL REL-OP )? FIELD REL-OP LITERAL
  Status ParseInterval(Field* field, StringIntervalSet* sset, TimeIntervalSet* tset) {
    bool two_sided = false;
    Token lit1, op1;
    if (IsLiteral(tok_)) {
      two_sided = true;
      lit1 = tok_;
      RETURN_NOT_OK(Advance());
      if (tok_.kind != Tok::kOp) return Error(tok_, "expected a comparison operator");
      op1 = tok_;
      if (op1.op == Op::kEq || op1.op == Op::kPrefix) {
        return Error(op1, "a literal before the field takes '<', '<=', '>' or '>='");
      }
      RETURN_NOT_OK(Advance());
    }
    if (!IsField(tok_, field)) {
      return Error(tok_, two_sided ? "expected 'row', 'column' or 'time'"
                                   : "expected 'row', 'column', 'time', 'history' or a literal");
    }
    RETURN_NOT_OK(Advance());
    if (tok_.kind != Tok::kOp) return Error(tok_, "expected a comparison operator");
    Token op2 = tok_;
    if (two_sided) {
      bool up1 = op1.op == Op::kLt || op1.op == Op::kLe;
      bool up2 = op2.op == Op::kLt || op2.op == Op::kLe;
      bool down2 = op2.op == Op::kGt || op2.op == Op::kGe;
      if (!(up1 ? up2 : down2)) {
        return Error(op2, "both comparisons of a two-sided interval must point the same way");
      }
    }
    RETURN_NOT_OK(Advance());
    Token lit2 = tok_;
    if (!IsLiteral(lit2)) return Error(lit2, "expected a literal");
    RETURN_NOT_OK(Advance());
    if (*field == Field::kTime) {
      TimeIntervalSet a;
      RETURN_NOT_OK(TimeSet(op2, lit2, &a));
      if (two_sided) {
        TimeIntervalSet b;
        Token flipped = op1;
        flipped.op = Flip(op1.op);
        RETURN_NOT_OK(TimeSet(flipped, lit1, &b));
        a = a.Intersect(b);
      }
      *tset = std::move(a);
    } else {
      StringIntervalSet a;
      RETURN_NOT_OK(StringSet(op2, lit2, &a));
      if (two_sided) {
        StringIntervalSet b;
        Token flipped = op1;
        flipped.op = Flip(op1.op);
        RETURN_NOT_OK(StringSet(flipped, lit1, &b));
        a = a.Intersect(b);
      }
      *sset = std::move(a);
    }
    return Status::OK();
  }

  Status StringSet(const Token& op, const Token& lit, StringIntervalSet* out) {
    if (lit.kind != Tok::kString) {
      return Error(lit, "row and column take a \"string\" literal");
    }
    const std::string& v = lit.value;
    std::string succ = v;
    succ.push_back('\0');
    switch (op.op) {
      case Op::kLt: *out = StringIntervalSet::Range("", v); break;
      case Op::kLe: *out = StringIntervalSet::Range("", succ); break;
      case Op::kGt: *out = StringIntervalSet::AtLeast(succ); break;
      case Op::kGe: *out = StringIntervalSet::AtLeast(v); break;
      case Op::kEq: *out = StringIntervalSet::Exact(v); break;
      case Op::kPrefix: *out = StringIntervalSet::Prefix(v); break;
    }
    return Status::OK();
  }

  Status TimeSet(const Token& op, const Token& lit, TimeIntervalSet* out) {
    int64_t t = 0;
    std::string text = lit.kind == Tok::kString ? lit.value : lit.text;
    Status s = ParseTimeLiteral(text, &t);
    if (!s.ok()) return Error(lit, s.message());
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    switch (op.op) {
      case Op::kLt:
        *out = t == kMin ? TimeIntervalSet() : TimeIntervalSet::Range(kMin, t - 1);
        break;
      case Op::kLe: *out = TimeIntervalSet::Range(kMin, t); break;
      case Op::kGt:
        *out = t == kMax ? TimeIntervalSet() : TimeIntervalSet::Range(t + 1, kMax);
        break;
      case Op::kGe: *out = TimeIntervalSet::Range(t, kMax); break;
      case Op::kEq: *out = TimeIntervalSet::Range(t, t); break;
      case Op::kPrefix: return Error(op, "'~=' (starts with) does not apply to time");
    }
    return Status::OK();
  }

  std::string_view text_;
  size_t pos_ = 0;
  Token tok_;
};

}  // namespace

Status ScanPredicate::Parse(std::string_view text, ScanPredicate* out) {
  return Parser(text).Run(out);
}

}  // namespace kdi
