// RPC server: accepts mutual-TLS connections on one libevent I/O thread, decodes
// frames, and dispatches each request to the handler registered for its type.
//
// Threading model: one I/O thread owns the event base, the listener and every
// connection (a connection is an explicit state machine on that thread). A
// handler registered with Dispatch::kWorker runs on one of a pool of worker
// threads and may block (Berkeley DB, fsync); Dispatch::kLoop handlers run on the
// I/O thread and must not block. Either kind may answer later, from any thread,
// through its Responder: replies are handed back to the I/O thread through a
// queue and an eventfd-style wakeup. Requests on one connection are pipelined:
// they may complete out of order; the request id matches them up.
//
// Backpressure: a connection is not read while 4096 of its requests are in
// handlers or 64 MiB of its replies wait to be written. A Responder may outlive
// the Server; replies after Stop() are dropped. See doc/rpc.md.
//
// Security: only peers with a certificate from the cluster CA get past the TLS
// handshake; each handler names the roles allowed to call it and others get
// PermissionDenied without the handler running. A malformed frame gets a
// kMsgServerError frame and the connection is closed; it never reaches a handler.
#ifndef KDI_LIB_RPC_SERVER_H_
#define KDI_LIB_RPC_SERVER_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "kdi/status.h"
#include "lib/rpc/frame.h"
#include "lib/rpc/tls.h"

namespace kdi::rpc {

// One request's reply path. Thread-safe. Reply() may be called once; later calls
// are ignored. Destroying a Responder that was never answered replies Internal.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void Reply(const Status& status, std::string payload = std::string()) = 0;
  virtual const PeerIdentity& peer() const = 0;
  virtual uint32_t request_id() const = 0;
  // True once the connection that carried the request is gone (a long-poll may
  // stop waiting).
  virtual bool cancelled() const = 0;
};
using ResponderPtr = std::shared_ptr<Responder>;

using Handler = std::function<void(std::string body, ResponderPtr responder)>;

// An optional fast path of a kWorker handler, tried on the I/O thread before the
// request is queued for a worker (it saves the two thread hand-offs of a worker
// handler, which a profile of point reads showed to be ~40% of the server's
// CPU). It must never block: it either answers through the responder and
// returns true, or returns false without replying, and the request then goes
// to the worker handler as usual (body and responder untouched).
using InlineHandler = std::function<bool(const std::string& body, const ResponderPtr& responder)>;

enum class Dispatch { kWorker, kLoop };

// A set of roles allowed to call a handler.
class RoleSet {
 public:
  RoleSet(std::initializer_list<Role> roles) {
    for (Role r : roles) bits_ |= 1u << static_cast<int>(r);
  }
  static RoleSet Any() { return RoleSet({Role::kClient, Role::kAdmin, Role::kServer}); }
  bool contains(Role r) const { return bits_ & (1u << static_cast<int>(r)); }

 private:
  unsigned bits_ = 0;
};

struct ServerOptions {
  std::string listen_address = "127.0.0.1:0";  // HOST:PORT; port 0 picks a free one
  std::shared_ptr<TlsContext> tls;             // required, server context
  int worker_threads = 4;
  uint32_t max_body_bytes = kDefaultMaxBodyBytes;
  int max_connections = 4096;
  int handshake_timeout_ms = 10000;
  bool compress_replies = true;  // deflate large reply bodies
  std::string name = "rpc";      // for log lines
};

class Server {
 public:
  explicit Server(ServerOptions opts);
  ~Server();  // Stop()s

  // REQUIRES: called before Start().
  void Register(uint16_t type, Handler handler, Dispatch dispatch = Dispatch::kWorker,
                RoleSet roles = RoleSet::Any());
  // A kWorker handler with a non-blocking fast path (see InlineHandler).
  // REQUIRES: called before Start().
  void Register(uint16_t type, Handler handler, RoleSet roles, InlineHandler try_inline);

  // Binds, starts the I/O thread and the workers. A Server is started once; to
  // serve again after Stop(), make a new one (the port may be reused).
  Status Start();
  // Stops accepting, closes connections, joins all threads. Handlers running in
  // workers finish; replies after Stop are dropped. Idempotent.
  void Stop();

  // The bound address ("127.0.0.1:40123"), valid after Start().
  std::string address() const;
  int port() const;

  // Runs fn on the worker pool (for a daemon's background work).
  void RunInWorker(std::function<void()> fn);

  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_SERVER_H_
