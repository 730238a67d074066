// Logging for the daemons and the library: one line per event with time, level
// and component, to stderr (default) or syslog.
//
//   KDI_LOG(INFO, "rpc") << "listening on " << addr;
//
// A line is formatted into a local buffer and written with one write(2) call, so
// lines from different threads never interleave. Thread-safe. Reopen() (for
// SIGHUP) and the configuration calls may run concurrently with logging.
#ifndef KDI_LIB_UTIL_LOG_H_
#define KDI_LIB_UTIL_LOG_H_

#include <sstream>
#include <string>

#include "kdi/status.h"

namespace kdi::log {

enum Level { DEBUG = 0, INFO = 1, WARN = 2, ERROR = 3 };

// Where lines go. kFile appends to a path (reopened by Reopen()).
enum class Sink { kStderr, kSyslog, kFile };

void SetLevel(Level level);
Level GetLevel();
// "debug" | "info" | "warn" | "error"; false if unknown.
bool ParseLevel(const std::string& name, Level* level);
// ident is the program name for syslog and the line prefix.
void SetSink(Sink sink, const std::string& ident, const std::string& file_path = "");
// Like SetSink(kFile, ...) but fails, leaving the sink unchanged, when the file
// cannot be opened (SetSink would silently keep writing to stderr).
Status SetFileSink(const std::string& ident, const std::string& file_path);
// Reopens a kFile sink (log rotation). No-op for the others.
void Reopen();
bool Enabled(Level level);

class LogLine {
 public:
  LogLine(Level level, const char* component);
  ~LogLine();  // emits the line
  std::ostringstream& stream() { return out_; }

 private:
  Level level_;
  const char* component_;
  std::ostringstream out_;
};

// Turns the stream expression into void so that both branches of the ?: in
// KDI_LOG have the same type. operator& binds more loosely than <<, so the
// whole chain of << is evaluated first.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace kdi::log

// An expression, not an if statement, so that `if (x) KDI_LOG(...) << ...; else`
// binds the else to the caller's if (no -Wdangling-else). When the level is
// disabled, nothing after KDI_LOG(...) is evaluated.
#define KDI_LOG(level, component)                  \
  !::kdi::log::Enabled(::kdi::log::level)          \
      ? (void)0                                    \
      : ::kdi::log::Voidify() &                    \
            ::kdi::log::LogLine(::kdi::log::level, component).stream()

#endif  // KDI_LIB_UTIL_LOG_H_
