// kdi:// URI parsing (see remote_options.h).
#include "lib/client/remote_options.h"

#include <cstdlib>
#include <sys/stat.h>

#include "lib/client/table_protocol.h"
#include "lib/util/config_file.h"
#include "lib/util/options.h"

namespace kdi::client {
namespace {

Status PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); i++) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = i + 1 < in.size() ? hex(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? hex(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return Status::InvalidArgument("bad % escape");
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return Status::OK();
}

bool ParseNumber(std::string_view text, int64_t min, int64_t max, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v < min || v > max) return false;
  *out = v;
  return true;
}

std::string Resolve(const std::string& path, const std::string& config_path) {
  if (path.empty() || path[0] == '/') return path;
  size_t slash = config_path.rfind('/');
  if (slash == std::string::npos) return path;
  return config_path.substr(0, slash + 1) + path;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

}  // namespace

Status ParseRemoteUri(const std::string& uri, RemoteTableOptions* out) {
  const std::string kScheme = "kdi://";
  if (uri.compare(0, kScheme.size(), kScheme) != 0) {
    return Status::InvalidArgument("not a kdi:// URI: " + uri);
  }
  RemoteTableOptions o;
  std::string rest = uri.substr(kScheme.size());
  std::string query;
  size_t q = rest.find('?');
  if (q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) {
    return Status::InvalidArgument("expected kdi://HOST[:PORT]/TABLE, got " + uri);
  }
  std::string host = rest.substr(0, slash);
  RETURN_NOT_OK_PREPEND(PercentDecode(rest.substr(slash + 1), &o.table), uri);
  if (!IsValidTableName(o.table)) {
    return Status::InvalidArgument("bad table name in " + uri);
  }
  size_t colon = host.rfind(':');
  if (colon == std::string::npos || host.back() == ']') {
    o.lockd_address = host + ":" + std::to_string(kDefaultLockdPort);
  } else {
    int64_t port;
    if (!ParseNumber(host.substr(colon + 1), 1, 65535, &port) || colon == 0) {
      return Status::InvalidArgument("bad HOST:PORT '" + host + "' in " + uri);
    }
    o.lockd_address = host;
  }

  std::string conf;
  std::string ca, cert, key;
  bool have_ca = false, have_cert = false, have_key = false;
  size_t pos = 0;
  while (!query.empty() && pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string item = query.substr(pos, amp - pos);
    pos = amp + 1;
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string::npos) return Status::InvalidArgument("URI parameter without '=': " + item);
    std::string k = item.substr(0, eq);
    std::string v;
    RETURN_NOT_OK_PREPEND(PercentDecode(item.substr(eq + 1), &v), "URI parameter " + k);
    int64_t n = 0;
    auto number = [&](int64_t min, int64_t max) -> Status {
      if (!ParseNumber(v, min, max, &n)) {
        return Status::InvalidArgument("URI parameter " + k + "=" + v + ": expected an integer in [" +
                                       std::to_string(min) + ", " + std::to_string(max) + "]");
      }
      return Status::OK();
    };
    if (k == "timeout_ms") {
      RETURN_NOT_OK(number(1, 86400000));
      o.op_timeout_ms = n;
    } else if (k == "rpc_timeout_ms") {
      RETURN_NOT_OK(number(1, 86400000));
      o.rpc_timeout_ms = n;
    } else if (k == "write_buffer_bytes") {
      RETURN_NOT_OK(number(0, int64_t{1} << 40));
      o.write_buffer_bytes = n;
    } else if (k == "flush_interval_ms") {
      RETURN_NOT_OK(number(0, 86400000));
      o.flush_interval_ms = n;
    } else if (k == "max_batch_bytes") {
      RETURN_NOT_OK(number(1, int64_t{64} << 20));
      o.max_batch_bytes = n;
    } else if (k == "caller_io") {
      RETURN_NOT_OK(number(0, 1));
      o.caller_io = n == 1;
    } else if (k == "connections_per_server") {
      RETURN_NOT_OK(number(1, 16));
      o.connections_per_server = n;
    } else if (k == "conf") {
      conf = v;
    } else if (k == "tls_ca_file") {
      ca = v;
      have_ca = true;
    } else if (k == "tls_cert_file") {
      cert = v;
      have_cert = true;
    } else if (k == "tls_key_file") {
      key = v;
      have_key = true;
    } else {
      return Status::InvalidArgument("unknown URI parameter '" + k + "' in " + uri);
    }
  }

  // Credentials from a config file unless all given in the URI.
  if (!(have_ca && have_cert && have_key)) {
    std::string path = conf;
    bool named = !path.empty();
    if (path.empty()) {
      const char* env = getenv("KDI_CONF");
      if (env != nullptr && *env != '\0') {
        path = env;
        named = true;
      }
    }
    if (path.empty()) path = DefaultConfigPath();
    if (named || FileExists(path)) {
      ConfigFile cf;
      RETURN_NOT_OK_PREPEND(ConfigFile::Load(path, &cf), "reading TLS settings");
      auto get = [&](const char* name, std::string* dst, bool have) {
        if (have) return;
        const ConfigEntry* e = cf.Find("global", name);
        if (e != nullptr) *dst = Resolve(e->value, path);
      };
      get("tls_ca_file", &ca, have_ca);
      get("tls_cert_file", &cert, have_cert);
      get("tls_key_file", &key, have_key);
    }
  }
  o.tls_ca_file = ca;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  *out = std::move(o);
  return Status::OK();
}

}  // namespace kdi::client
