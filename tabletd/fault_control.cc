// FaultControl: see fault_control.h.
#include "tabletd/fault_control.h"

#include <chrono>
#include <utility>
#include <vector>

#include "lib/storage/env.h"
#include "lib/util/log.h"

namespace kdi::tabletd {

Status FaultControl::Apply(const std::string& content) {
  std::vector<storage::BdbIoFaultRule> rules;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) nl = content.size();
    std::string line = content.substr(pos, nl - pos);
    pos = nl + 1;
    line_no++;
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    storage::BdbIoFaultRule r;
    RETURN_NOT_OK_PREPEND(storage::ParseBdbIoFaultRule(line, &r),
                          "line " + std::to_string(line_no));
    rules.push_back(std::move(r));
  }
  storage::SetBdbIoFaultRules(std::move(rules));
  return Status::OK();
}

void FaultControl::Start() {
  storage::InstallBdbIoFaultHooks();
  KDI_LOG(WARN, "fault") << "fault injection enabled (test facility): control file " << path_;
  PollOnce();
  thread_ = std::thread([this] { Run(); });
}

void FaultControl::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void FaultControl::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, std::chrono::milliseconds(20));
    if (stopping_) break;
    l.unlock();
    PollOnce();
    l.lock();
  }
}

void FaultControl::PollOnce() {
  storage::Env* env = storage::Env::Default();
  std::string content;
  if (!env->Exists(path_)) {
    content.clear();  // no file: no faults
  } else if (!env->ReadFile(path_, 1 << 20, &content).ok()) {
    return;  // being replaced; try again at the next poll
  }
  if (have_last_ && content == last_) return;
  have_last_ = true;
  last_ = content;
  Status s = Apply(content);
  if (s.ok()) {
    KDI_LOG(WARN, "fault") << "fault rules now: "
                           << (content.empty() ? std::string("(none)") : content);
  } else {
    KDI_LOG(WARN, "fault") << "ignoring " << path_ << ": " << s.ToString();
  }
  Status w = env->WriteFileAtomic(path_ + ".ack", s.ok() ? content : "error: " + s.ToString());
  if (!w.ok()) KDI_LOG(WARN, "fault") << "writing " << path_ << ".ack: " << w.ToString();
}

}  // namespace kdi::tabletd
