#pragma once
// TLS for the gateway's one port (wss:// and https://): the server's OpenSSL context, built once
// from the certificate chain and key files. Internal: include only from server/src.

#include "gateway/options.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>

namespace gateway {

/// A connection's byte stream under TLS.
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// The server side of TLS 1.2 and up with `files`' certificate chain and private key. Throws
/// std::runtime_error naming the file and OpenSSL's reason when either cannot be used.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_files& files);

}  // namespace gateway
