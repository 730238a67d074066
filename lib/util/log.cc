// Logging implementation; see log.h.
#include "lib/util/log.h"

#include <fcntl.h>
#include <sys/time.h>
#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

namespace kdi::log {

namespace {
std::atomic<int> g_level{INFO};
std::mutex g_mu;  // guards the sink configuration below
Sink g_sink = Sink::kStderr;
std::string g_ident = "kdi";
std::string g_path;
int g_fd = 2;

const char* LevelName(Level l) {
  switch (l) {
    case DEBUG: return "DEBUG";
    case INFO: return "INFO";
    case WARN: return "WARN";
    case ERROR: return "ERROR";
  }
  return "?";
}

int SyslogPriority(Level l) {
  switch (l) {
    case DEBUG: return LOG_DEBUG;
    case INFO: return LOG_INFO;
    case WARN: return LOG_WARNING;
    case ERROR: return LOG_ERR;
  }
  return LOG_INFO;
}
}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return static_cast<Level>(g_level.load()); }
bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

bool ParseLevel(const std::string& name, Level* level) {
  if (name == "debug") *level = DEBUG;
  else if (name == "info") *level = INFO;
  else if (name == "warn" || name == "warning") *level = WARN;
  else if (name == "error") *level = ERROR;
  else return false;
  return true;
}

void SetSink(Sink sink, const std::string& ident, const std::string& file_path) {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_sink == Sink::kFile && g_fd > 2) close(g_fd);
  if (g_sink == Sink::kSyslog) closelog();
  g_sink = sink;
  g_ident = ident;
  g_path = file_path;
  g_fd = 2;
  if (sink == Sink::kSyslog) {
    openlog(g_ident.c_str(), LOG_PID | LOG_NDELAY, LOG_DAEMON);
  } else if (sink == Sink::kFile) {
    int fd = open(file_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd >= 0) g_fd = fd;
  }
}

Status SetFileSink(const std::string& ident, const std::string& file_path) {
  int fd = open(file_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return ErrnoToStatus("opening log file " + file_path, errno);
  SetSink(Sink::kFile, ident, file_path);
  close(fd);  // SetSink opened its own descriptor; this one only checked the path
  return Status::OK();
}

void Reopen() {
  std::lock_guard<std::mutex> l(g_mu);
  if (g_sink != Sink::kFile) return;
  int fd = open(g_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return;  // keep the old descriptor rather than lose lines
  if (g_fd > 2) close(g_fd);
  g_fd = fd;
}

LogLine::LogLine(Level level, const char* component) : level_(level), component_(component) {}

LogLine::~LogLine() {
  std::string msg = out_.str();
  std::lock_guard<std::mutex> l(g_mu);
  if (g_sink == Sink::kSyslog) {
    syslog(SyslogPriority(level_), "%s %s: %s", LevelName(level_), component_, msg.c_str());
    return;
  }
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[64];
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           static_cast<long>(tv.tv_usec));
  std::string line;
  line.reserve(msg.size() + 80);
  line += ts;
  line += ' ';
  line += g_ident;
  line += '[';
  line += std::to_string(getpid());
  line += "] ";
  line += LevelName(level_);
  line += ' ';
  line += component_;
  line += ": ";
  line += msg;
  line += '\n';
  ssize_t unused = write(g_fd, line.data(), line.size());
  (void)unused;
}

}  // namespace kdi::log
