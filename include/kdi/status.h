// kdi::Status: the result of every fallible KDI call.
//
// A Status is either OK or carries a code and a message. OK is represented by a
// null pointer, so returning and testing success costs nothing (as leveldb's
// Status). Results come back through pointer arguments; the Status says whether
// they are valid.
//
// The numeric codes are part of the wire protocol (see doc/protocol.md) and of
// kdicli's messages: never renumber them, only append.
//
// Thread safety: a Status is a value; distinct objects may be used from
// different threads without synchronization, a const Status from many.
#ifndef KDI_STATUS_H_
#define KDI_STATUS_H_

#include <memory>
#include <string>
#include <string_view>

namespace kdi {

class [[nodiscard]] Status {
 public:
  enum class Code : int {
    kOk = 0,
    kNotFound = 1,
    kInvalidArgument = 2,
    kCorruption = 3,
    kIOError = 4,
    kNetworkError = 5,
    kTimedOut = 6,
    kServiceUnavailable = 7,
    kPermissionDenied = 8,
    kConflict = 9,
    kAlreadyExists = 10,
    kNotSupported = 11,
    kAborted = 12,
    kNotServing = 13,      // this server does not serve that tablet (now)
    kSessionExpired = 14,  // lock-service session is gone
    kProtocolError = 15,   // malformed or unexpected message
    kResourceExhausted = 16,  // limit reached (disk full, too big, too many)
    kInternal = 17,
  };
  static constexpr int kMaxCode = 17;

  Status() noexcept = default;
  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&& other) noexcept = default;
  Status& operator=(Status&& other) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }
  static Status IOError(std::string_view msg) { return Status(Code::kIOError, msg); }
  static Status NetworkError(std::string_view msg) { return Status(Code::kNetworkError, msg); }
  static Status TimedOut(std::string_view msg) { return Status(Code::kTimedOut, msg); }
  static Status ServiceUnavailable(std::string_view msg) {
    return Status(Code::kServiceUnavailable, msg);
  }
  static Status PermissionDenied(std::string_view msg) {
    return Status(Code::kPermissionDenied, msg);
  }
  static Status Conflict(std::string_view msg) { return Status(Code::kConflict, msg); }
  static Status AlreadyExists(std::string_view msg) {
    return Status(Code::kAlreadyExists, msg);
  }
  static Status NotSupported(std::string_view msg) { return Status(Code::kNotSupported, msg); }
  static Status Aborted(std::string_view msg) { return Status(Code::kAborted, msg); }
  static Status NotServing(std::string_view msg) { return Status(Code::kNotServing, msg); }
  static Status SessionExpired(std::string_view msg) {
    return Status(Code::kSessionExpired, msg);
  }
  static Status ProtocolError(std::string_view msg) {
    return Status(Code::kProtocolError, msg);
  }
  static Status ResourceExhausted(std::string_view msg) {
    return Status(Code::kResourceExhausted, msg);
  }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }

  // Builds a Status from a wire code; unknown codes become kInternal so that a
  // newer peer never makes an older one misbehave.
  static Status FromCode(int code, std::string_view msg);

  bool ok() const { return state_ == nullptr; }
  Code code() const { return state_ ? state_->code : Code::kOk; }
  const std::string& message() const;

  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsNetworkError() const { return code() == Code::kNetworkError; }
  bool IsTimedOut() const { return code() == Code::kTimedOut; }
  bool IsServiceUnavailable() const { return code() == Code::kServiceUnavailable; }
  bool IsPermissionDenied() const { return code() == Code::kPermissionDenied; }
  bool IsConflict() const { return code() == Code::kConflict; }
  bool IsAlreadyExists() const { return code() == Code::kAlreadyExists; }
  bool IsNotServing() const { return code() == Code::kNotServing; }
  bool IsSessionExpired() const { return code() == Code::kSessionExpired; }

  // "NotFound: no such table: foo"
  std::string ToString() const;
  // The name of the code alone: "NotFound".
  static const char* CodeName(Code code);

  // Returns a copy whose message is "prefix: <old message>".
  Status CloneAndPrepend(std::string_view prefix) const;

 private:
  struct State {
    Code code;
    std::string msg;
  };
  Status(Code code, std::string_view msg);

  std::unique_ptr<State> state_;
};

// Turns an errno value into a Status naming the context (usually a path), in one
// place for the whole code base (as leveldb's PosixError). ENOENT -> NotFound,
// ENOSPC/EDQUOT -> ResourceExhausted, EACCES/EPERM -> PermissionDenied, the
// rest -> IOError.
Status ErrnoToStatus(std::string_view context, int err);

}  // namespace kdi

#define KDI_RETURN_NOT_OK(expr)        \
  do {                                 \
    ::kdi::Status _kdi_s = (expr);     \
    if (!_kdi_s.ok()) return _kdi_s;   \
  } while (0)

#define KDI_RETURN_NOT_OK_PREPEND(expr, prefix)                 \
  do {                                                          \
    ::kdi::Status _kdi_s = (expr);                              \
    if (!_kdi_s.ok()) return _kdi_s.CloneAndPrepend(prefix);    \
  } while (0)

#ifndef KDI_NO_SHORT_MACROS
#define RETURN_NOT_OK KDI_RETURN_NOT_OK
#define RETURN_NOT_OK_PREPEND KDI_RETURN_NOT_OK_PREPEND
#endif

#endif  // KDI_STATUS_H_
