// http_session over plain TCP.
#include "http_session_impl.hpp"

namespace gateway {

template class http_session<boost::beast::tcp_stream>;

}  // namespace gateway
