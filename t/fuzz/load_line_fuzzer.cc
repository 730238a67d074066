// Fuzz target for the TSV / JSON-lines load parser of kdicli
// (kdicli/format.h ParseCellLine and its helpers), which reads files a user
// hands to `kdicli load`. Invariants: an accepted line formats back (TSV and
// JSON) to lines that parse to the same cell; every byte string survives
// EscapeBytes -> UnescapeBytes and Base64Encode -> Base64Decode; accepted
// escapes and base64 re-encode canonically.
#include <string>
#include <string_view>

#include "kdi/cell.h"
#include "kdicli/format.h"
#include "t/fuzz/fuzz_targets.h"

namespace kdi::fuzz {

namespace {
bool SameCell(const Cell& a, const Cell& b) {
  return a.row == b.row && a.column == b.column && a.timestamp == b.timestamp &&
         a.value == b.value && a.erasure == b.erasure;
}

void CheckReparse(const Cell& c, const std::string& line) {
  Cell again;
  Status s = cli::ParseCellLine(line, &again);
  if (!s.ok()) fprintf(stderr, "re-parse of [%s]: %s\n", line.c_str(), s.ToString().c_str());
  KDI_FUZZ_CHECK(s.ok());
  KDI_FUZZ_CHECK(SameCell(c, again));
}
}  // namespace

int LoadLineTarget(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Cell c;
  Status s = cli::ParseCellLine(in, &c);
  if (s.ok()) {
    KDI_FUZZ_CHECK(!c.erasure);
    CheckReparse(c, cli::FormatCellTsv(c));
    CheckReparse(c, cli::FormatCellJson(c));
  } else {
    KDI_FUZZ_CHECK(s.IsInvalidArgument());
  }
  // Escaping: every byte string round-trips.
  for (bool brace : {false, true}) {
    std::string esc = cli::EscapeBytes(in, brace);
    std::string back;
    KDI_FUZZ_CHECK(cli::UnescapeBytes(esc, &back).ok());
    KDI_FUZZ_CHECK(back == in);
  }
  std::string un;
  if (cli::UnescapeBytes(in, &un).ok()) {
    std::string back;
    KDI_FUZZ_CHECK(cli::UnescapeBytes(cli::EscapeBytes(un), &back).ok() && back == un);
  }
  std::string b64;
  KDI_FUZZ_CHECK(cli::Base64Decode(cli::Base64Encode(in), &b64).ok() && b64 == in);
  std::string raw;
  if (cli::Base64Decode(in, &raw).ok()) {
    std::string raw2;
    KDI_FUZZ_CHECK(cli::Base64Decode(cli::Base64Encode(raw), &raw2).ok() && raw2 == raw);
  }
  if (cli::IsValidUtf8(in)) KDI_FUZZ_CHECK(cli::EscapeBytes(in).size() >= in.size());
  cli::CellFormat f;
  if (cli::ParseCellFormat(in, &f).ok()) KDI_FUZZ_CHECK(cli::CellFormatName(f) == in);
  return 0;
}

}  // namespace kdi::fuzz

#ifdef KDI_LIBFUZZER
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return kdi::fuzz::LoadLineTarget(data, size);
}
#endif
