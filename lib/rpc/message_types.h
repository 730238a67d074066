// Message type numbers, in blocks per interface (as tmux-protocol.h). A block's
// owner defines its constants in its own protocol header; this file only fixes
// the blocks, so that numbers never collide. Never renumber a released type.
//
//     1 -   99  control (ping, errors without a request)
//   100 -  199  1a lock service (lockd)                 lib/lock/lock_protocol.h
//   200 -  299  2a table meta (masterd)                 lib/client/meta_protocol.h
//   300 -  399  3a table interface (tabletd)            lib/client/table_protocol.h
//   400 -  499  3b master admin (masterd -> tabletd)    lib/client/admin_protocol.h
//   500 -  599  3c tablet migration (tabletd -> tabletd) lib/client/admin_protocol.h
//   600 -  699  master sessions (tabletd -> masterd keepAlive, split reports)
#ifndef KDI_LIB_RPC_MESSAGE_TYPES_H_
#define KDI_LIB_RPC_MESSAGE_TYPES_H_

#include <cstdint>

namespace kdi::rpc {

constexpr uint16_t kMsgPing = 1;        // empty body; reply empty. Any role.
constexpr uint16_t kMsgServerError = 2; // sent by a server with request_id 0 before
                                        // it closes a connection for a protocol error

constexpr uint16_t kLockBlockBegin = 100;
constexpr uint16_t kMetaBlockBegin = 200;
constexpr uint16_t kTableBlockBegin = 300;
constexpr uint16_t kAdminBlockBegin = 400;
constexpr uint16_t kMigrationBlockBegin = 500;
constexpr uint16_t kMasterSessionBlockBegin = 600;

}  // namespace kdi::rpc

#endif  // KDI_LIB_RPC_MESSAGE_TYPES_H_
