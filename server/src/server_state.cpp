#include "server_state.hpp"

#include "tls.hpp"

namespace gateway {

server_state::server_state(cascade::bus& bus, server_options opts, routes extra)
    : options{std::move(opts)},
      submitter{bus, feed},
      router{submitter, metrics, std::move(extra)},
      nonce{std::random_device{}()},
      tls{options.tls ? make_tls_context(*options.tls) : nullptr} {}

}  // namespace gateway
