// Path validation and the protected KDI names (see lock_path.h).
#include "lib/lock/lock_path.h"

#include "kdi/lock_client.h"

namespace kdi::lock {

Status ValidatePath(std::string_view path) {
  if (path.empty()) return Status::InvalidArgument("empty path");
  if (path.size() > kMaxPathBytes) {
    return Status::InvalidArgument("path of " + std::to_string(path.size()) +
                                   " bytes exceeds the " + std::to_string(kMaxPathBytes) +
                                   "-byte limit");
  }
  if (path[0] != '/') {
    return Status::InvalidArgument("path is not absolute: " + std::string(path));
  }
  if (path == "/") return Status::OK();
  if (path.back() == '/') {
    return Status::InvalidArgument("path ends with '/': " + std::string(path));
  }
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    if (comp.empty()) {
      return Status::InvalidArgument("path has an empty component: " + std::string(path));
    }
    if (comp == "." || comp == "..") {
      return Status::InvalidArgument("path has a '" + std::string(comp) +
                                     "' component: " + std::string(path));
    }
    if (comp.size() > kMaxComponentBytes) {
      return Status::InvalidArgument("path component longer than " +
                                     std::to_string(kMaxComponentBytes) + " bytes");
    }
    for (unsigned char c : comp) {
      if (c < 0x20 || c == 0x7f) {
        return Status::InvalidArgument("path has a control character");
      }
    }
    pos = end + 1;
  }
  return Status::OK();
}

std::string ParentPath(std::string_view path) {
  if (path.size() <= 1) return std::string();
  size_t slash = path.rfind('/');
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(std::string_view path) {
  if (path.size() <= 1) return std::string();
  return std::string(path.substr(path.rfind('/') + 1));
}

std::string ChildPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out != "/") out += '/';
  out += name;
  return out;
}

bool IsProtectedPath(std::string_view path) {
  static constexpr std::string_view kProtected[] = {
      "/kdi/servers", "/kdi/master", "/kdi/root", "/kdi/tablets", "/kdi/tables"};
  for (std::string_view p : kProtected) {
    if (path.substr(0, p.size()) == p && (path.size() == p.size() || path[p.size()] == '/')) {
      return true;
    }
  }
  return false;
}

}  // namespace kdi::lock
