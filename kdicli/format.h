// Cell formats of kdicli: what scan/get/dump print and what load reads back.
//
// TSV (the default when stdout is not a terminal; what dump writes):
//   one cell per line:  ROW <TAB> COLUMN <TAB> TIME <TAB> VALUE <LF>
//   TIME is the timestamp in microseconds as a decimal integer (load also accepts
//   "@N" and ISO 8601, see ParseTimeLiteral). ROW, COLUMN and VALUE are escaped
//   byte strings (EscapeBytes):
//     \\  backslash        \t  tab        \n  newline        \r  carriage return
//     \xNN  any other byte below 0x20, 0x7f, a byte >= 0x80 that is not part of a
//           valid UTF-8 sequence, and a '{' at the start of the ROW field (so that
//           a TSV line never looks like a JSON one).
//   Valid UTF-8 text passes through unchanged, so dumps of text stay readable,
//   and every byte string 0x00-0xff round-trips exactly.
//
// JSON lines: one object per line:
//   {"row":R,"column":C,"time":N,"value":V}
//   R, C and V are JSON strings when the bytes are valid UTF-8, otherwise
//   {"base64":"..."} (RFC 4648 with padding). "time" is an integer (load also
//   accepts a string holding a time literal). Unknown keys are an error.
//
// Text (the default on a terminal): the TSV fields with TIME as ISO 8601,
// padded into aligned columns; for people, not for load.
//
// Loading: ParseCellLine recognizes a JSON line by its first byte '{'; empty
// lines are skipped by the caller. Errors are InvalidArgument describing the
// field; the caller adds FILE:LINE.
//
// Everything here is a pure function or a writer object used by one thread.
#ifndef KDI_KDICLI_FORMAT_H_
#define KDI_KDICLI_FORMAT_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "kdi/cell.h"
#include "kdi/status.h"

namespace kdi::cli {

enum class CellFormat { kTsv, kJson, kText };

// "tsv" | "json" | "text".
Status ParseCellFormat(std::string_view name, CellFormat* out);
const char* CellFormatName(CellFormat format);

// The escaping described above. leading_brace: also escape a leading '{'.
std::string EscapeBytes(std::string_view bytes, bool escape_leading_brace = false);
// Reverses EscapeBytes; InvalidArgument for a bad escape or a raw tab/newline.
Status UnescapeBytes(std::string_view text, std::string* out);

bool IsValidUtf8(std::string_view bytes);
std::string Base64Encode(std::string_view bytes);
Status Base64Decode(std::string_view text, std::string* out);

// One line without the trailing newline.
std::string FormatCellTsv(const Cell& cell);
std::string FormatCellJson(const Cell& cell);

// Parses one TSV or JSON line (without its newline; a trailing '\r' is
// tolerated) into a value cell.
Status ParseCellLine(std::string_view line, Cell* out);
Status ParseCellTsv(std::string_view line, Cell* out);
Status ParseCellJson(std::string_view line, Cell* out);

// Writes cells to a stream in one format. Text output is buffered in blocks of
// kTextBlock cells so that each block is aligned; call Finish() at the end.
// Write errors (EPIPE, disk full) are reported by Finish().
class CellWriter {
 public:
  static constexpr size_t kTextBlock = 1000;

  CellWriter(CellFormat format, std::ostream* out) : format_(format), out_(out) {}
  CellWriter(const CellWriter&) = delete;
  CellWriter& operator=(const CellWriter&) = delete;

  void Write(const Cell& cell);
  // Flushes pending text and the stream; IOError if any write failed.
  Status Finish();
  size_t count() const { return count_; }

 private:
  void FlushText();

  CellFormat format_;
  std::ostream* out_;
  size_t count_ = 0;
  std::vector<std::vector<std::string>> pending_;  // text rows waiting for alignment
};

}  // namespace kdi::cli

#endif  // KDI_KDICLI_FORMAT_H_
