// TABLE arguments to Table::Open URIs (see kdicli/table_uri.h).
#include "kdicli/table_uri.h"

#include <cctype>

#include "kdicli/command.h"
#include "lib/rpc/tls.h"

namespace kdi::cli {

std::string UriEscape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (isalnum(c) || c == '/' || c == '.' || c == '-' || c == '_' || c == ':') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Status ResolveTableUri(Context* ctx, const std::string& table, std::string* uri) {
  if (table.empty()) return Status::InvalidArgument("empty table name");
  const bool is_uri = table.find(':') != std::string::npos;
  if (is_uri && table.rfind("kdi://", 0) != 0) {
    *uri = table;
    return Status::OK();
  }
  if (is_uri) {
    *uri = table;
  } else {
    std::string lockd;
    RETURN_NOT_OK(ctx->LockdAddress(&lockd));
    *uri = "kdi://" + lockd + "/" + UriEscape(table);
  }
  if (uri->find("tls_ca_file=") == std::string::npos) {
    rpc::TlsOptions tls;
    Status s = ctx->ClientTls(&tls);
    if (s.ok()) {
      *uri += (uri->find('?') == std::string::npos ? "?" : "&");
      *uri += "tls_ca_file=" + UriEscape(tls.ca_file) + "&tls_cert_file=" +
              UriEscape(tls.cert_file) + "&tls_key_file=" + UriEscape(tls.key_file);
    } else if (!is_uri) {
      return s;
    }
  }
  return Status::OK();
}

Status OpenTable(Context* ctx, const std::string& table, std::unique_ptr<Table>* out) {
  std::string uri;
  RETURN_NOT_OK(ResolveTableUri(ctx, table, &uri));
  return Table::Open(uri, out);
}

std::string DisplayUri(const std::string& uri) { return uri.substr(0, uri.find('?')); }

}  // namespace kdi::cli
