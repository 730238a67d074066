// Implementation of kdi::Status and the errno mapping.
#include "kdi/status.h"

#include <cerrno>
#include <cstring>

namespace kdi {

Status::Status(Code code, std::string_view msg)
    : state_(code == Code::kOk ? nullptr : new State{code, std::string(msg)}) {}

Status::Status(const Status& other)
    : state_(other.state_ ? new State(*other.state_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) state_.reset(other.state_ ? new State(*other.state_) : nullptr);
  return *this;
}

Status Status::FromCode(int code, std::string_view msg) {
  if (code == 0) return Status();
  if (code < 0 || code > kMaxCode) return Status(Code::kInternal, msg);
  return Status(static_cast<Code>(code), msg);
}

const std::string& Status::message() const {
  static const std::string kEmpty;
  return state_ ? state_->msg : kEmpty;
}

const char* Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kNetworkError: return "NetworkError";
    case Code::kTimedOut: return "TimedOut";
    case Code::kServiceUnavailable: return "ServiceUnavailable";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kConflict: return "Conflict";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kNotSupported: return "NotSupported";
    case Code::kAborted: return "Aborted";
    case Code::kNotServing: return "NotServing";
    case Code::kSessionExpired: return "SessionExpired";
    case Code::kProtocolError: return "ProtocolError";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out = CodeName(state_->code);
  if (!state_->msg.empty()) {
    out += ": ";
    out += state_->msg;
  }
  return out;
}

Status Status::CloneAndPrepend(std::string_view prefix) const {
  if (ok()) return Status();
  std::string msg(prefix);
  msg += ": ";
  msg += state_->msg;
  return Status(state_->code, msg);
}

Status ErrnoToStatus(std::string_view context, int err) {
  std::string msg(context);
  msg += ": ";
  msg += std::strerror(err);
  switch (err) {
    case ENOENT: return Status::NotFound(msg);
    case ENOSPC:
    case EDQUOT: return Status::ResourceExhausted(msg);
    case EACCES:
    case EPERM: return Status::PermissionDenied(msg);
    case EEXIST: return Status::AlreadyExists(msg);
    case EINVAL: return Status::InvalidArgument(msg);
    default: return Status::IOError(msg);
  }
}

}  // namespace kdi
