// Lock-service path rules, shared by lockd (which enforces them) and clients
// (which may check early).
//
// A valid path is absolute ("/" or "/a/b"), at most kMaxPathBytes long, with no
// empty, "." or ".." components, no trailing slash, each component at most
// kMaxComponentBytes of printable bytes (no NUL, no control characters, no '/').
// Pure functions; any thread.
#ifndef KDI_LIB_LOCK_LOCK_PATH_H_
#define KDI_LIB_LOCK_LOCK_PATH_H_

#include <string>
#include <string_view>

#include "kdi/status.h"

namespace kdi::lock {

// OK or InvalidArgument naming the rule broken.
Status ValidatePath(std::string_view path);

// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "".  REQUIRES: a valid path.
std::string ParentPath(std::string_view path);
// "/a/b" -> "b"; "/" -> "".
std::string BaseName(std::string_view path);
// Joins a directory path and a child name.
std::string ChildPath(std::string_view dir, std::string_view name);

// True for the names that only server and admin principals may create, lock,
// write or delete: /kdi/servers, /kdi/master, /kdi/root, /kdi/tablets,
// /kdi/tables and everything below them.
bool IsProtectedPath(std::string_view path);

}  // namespace kdi::lock

#endif  // KDI_LIB_LOCK_LOCK_PATH_H_
