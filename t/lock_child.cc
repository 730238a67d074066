// lock_child: a lock client in its own process, for the lockd acceptance tests
// (t/lockd_test.cc), which freeze it with SIGSTOP or kill it with SIGKILL.
//
//   lock_child SERVICE CA CERT KEY LOCK_PATH EPHEMERAL_PATH
//
// Opens a session, takes an exclusive lock on LOCK_PATH, creates the ephemeral
// node EPHEMERAL_PATH, then prints "SEQ <hex sequencer>" and "READY". On a line
// "CHECK" from stdin it waits (up to 10 s) for the session to be reported
// expired, then uses its lock handle and prints "STATE <state>" and
// "OP <status>", and exits 0. Errors: "ERROR <status>" and exit 1.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include <chrono>
#include <thread>

#include "kdi/lock_client.h"

namespace {

int Fail(const kdi::Status& s) {
  std::printf("ERROR %s\n", s.ToString().c_str());
  std::fflush(stdout);
  return 1;
}

const char* StateName(kdi::lock::SessionState s) {
  switch (s) {
    case kdi::lock::SessionState::kSafe: return "safe";
    case kdi::lock::SessionState::kJeopardy: return "jeopardy";
    case kdi::lock::SessionState::kExpired: return "expired";
    case kdi::lock::SessionState::kClosed: return "closed";
  }
  return "?";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kdi::lock;
  if (argc != 7) {
    std::fprintf(stderr, "usage: lock_child SERVICE CA CERT KEY LOCK_PATH EPHEMERAL_PATH\n");
    return 2;
  }
  LockSessionOptions o;
  o.service = argv[1];
  o.tls_ca_file = argv[2];
  o.tls_cert_file = argv[3];
  o.tls_key_file = argv[4];
  o.op_timeout_ms = 5000;
  std::unique_ptr<LockSession> session;
  kdi::Status s = OpenLockSession(o, &session);
  if (!s.ok()) return Fail(s);
  std::unique_ptr<LockHandle> lock, eph;
  s = session->Open(argv[5], kCreate | kLock, 0, &lock);
  if (s.ok()) s = lock->Lock(LockMode::kExclusive, 5000);
  if (s.ok()) s = session->Open(argv[6], kCreate | kEphemeral | kWrite, 0, &eph);
  std::string seq;
  if (s.ok()) s = lock->GetSequencer(&seq);
  if (!s.ok()) return Fail(s);
  std::string hex;
  static const char kDigits[] = "0123456789abcdef";
  for (unsigned char c : seq) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  std::printf("SEQ %s\nREADY\n", hex.c_str());
  std::fflush(stdout);

  std::string line;
  while (std::getline(std::cin, line) && line != "CHECK") {
  }
  for (int i = 0; i < 1000 && session->state() != SessionState::kExpired; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  NodeStat st;
  kdi::Status op = lock->Stat(&st);
  std::printf("STATE %s\nOP %s\n", StateName(session->state()),
              kdi::Status::CodeName(op.code()));
  std::fflush(stdout);
  return 0;
}
