// How kdicli turns a TABLE argument into a URI for kdi::Table::Open.
//
//   NAME               -> kdi://LOCKD/NAME?tls_ca_file=..&tls_cert_file=..&tls_key_file=..
//                         (LOCKD from --lockd / lockd_address; the TLS files of
//                         the configured client certificate; errors if either
//                         is missing)
//   kdi://HOST/NAME    -> the same URI plus the configured TLS files, unless it
//                         names its own (tls_ca_file=...) or none are configured
//   local:DIR, mem:... -> unchanged (any other URI with a ':')
// Table names never contain ':', so anything with one is a URI.
//
// Threading: as the Context it is given (commands run on one thread).
#ifndef KDI_KDICLI_TABLE_URI_H_
#define KDI_KDICLI_TABLE_URI_H_

#include <memory>
#include <string>

#include "kdi/status.h"
#include "kdi/table.h"

namespace kdi::cli {

class Context;

// Percent-escapes everything but [A-Za-z0-9/._:-] (for a URI's path and query).
std::string UriEscape(const std::string& s);

Status ResolveTableUri(Context* ctx, const std::string& table, std::string* uri);

// ResolveTableUri, then Table::Open.
Status OpenTable(Context* ctx, const std::string& table, std::unique_ptr<Table>* out);

// The URI without its query (no certificate paths), for messages.
std::string DisplayUri(const std::string& uri);

}  // namespace kdi::cli

#endif  // KDI_KDICLI_TABLE_URI_H_
