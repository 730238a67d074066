// FaultControl: a test facility that injects I/O errors into the Berkeley DB
// files of chosen tablets of a running tabletd.
//
// Enabled only when the environment variable KDI_FAULT_FILE names a control
// file (tabletd(8) ENVIRONMENT); otherwise tabletd never creates it and the
// storage runs without any hook (no cost). When enabled, Start() installs the
// process-wide Berkeley DB write/pwrite/fsync hooks (lib/storage/env.h) before
// any tablet is opened, and a thread polls the file every 20 ms. Each time its
// contents change, they replace the active rules, one per line:
//
//   write|sync ERRNO PATH-SUBSTRING [COUNT]     # e.g. write ENOSPC /tables/t/A/
//
// (blank lines and #-comments ignored; an empty file clears every fault).
// After applying a version it writes that exact content to "<file>.ack" (or
// "error: ..." and keeps the previous rules if a line is malformed), so a test
// knows when the fault is armed.
//
// Threading: Start/Stop from the server's start/stop path; the poll thread is
// internal.
#ifndef KDI_TABLETD_FAULT_CONTROL_H_
#define KDI_TABLETD_FAULT_CONTROL_H_

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "kdi/status.h"

namespace kdi::tabletd {

// The environment variable naming the control file.
constexpr char kFaultFileEnv[] = "KDI_FAULT_FILE";

class FaultControl {
 public:
  explicit FaultControl(std::string path) : path_(std::move(path)) {}
  ~FaultControl() { Stop(); }

  void Start();
  void Stop();

  // Applies `content` (the control file's text): OK, or InvalidArgument naming
  // the bad line (rules unchanged).
  static Status Apply(const std::string& content);

  FaultControl(const FaultControl&) = delete;
  FaultControl& operator=(const FaultControl&) = delete;

 private:
  void Run();
  void PollOnce();

  const std::string path_;
  std::string last_;
  bool have_last_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace kdi::tabletd

#endif  // KDI_TABLETD_FAULT_CONTROL_H_
