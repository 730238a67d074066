// The lock-client factory: picks the backend from the service name.
#include "kdi/lock_client.h"

#include "lib/lock/lockd_session.h"

namespace kdi::lock {

Status OpenLockSession(const LockSessionOptions& opts, std::unique_ptr<LockSession>* session) {
  const std::string& svc = opts.service;
  size_t scheme = svc.find("://");
  if (scheme != std::string::npos && svc.compare(0, scheme, "lockd") != 0) {
    return Status::NotSupported("lock service scheme '" + svc.substr(0, scheme) +
                                "' (only lockd:// is built in)");
  }
  return OpenLockdSession(opts, session);
}

}  // namespace kdi::lock
