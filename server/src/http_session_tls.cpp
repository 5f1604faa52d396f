// http_session over TLS: Beast's SSL stream over OpenSSL, and the WebSocket over it.
#include "http_session_impl.hpp"
#include "tls.hpp"

#include <boost/beast/websocket/ssl.hpp>

namespace gateway {

template class http_session<tls_stream>;

}  // namespace gateway
