#include "cluster/nats_client.hpp"

#include "cluster/nats_error.hpp"

namespace cluster {

namespace {

[[nodiscard]] options_handle connection_options(const client_options& options) {
    natsOptions* raw = nullptr;
    throw_unless_ok(natsOptions_Create(&raw), "creating NATS options");
    options_handle handle{raw};
    throw_unless_ok(natsOptions_SetURL(raw, options.url.c_str()), "setting the NATS URL");
    throw_unless_ok(natsOptions_SetName(raw, options.name.c_str()), "naming the NATS connection");
    throw_unless_ok(natsOptions_SetTimeout(raw, options.connect_timeout.count()), "setting the connect timeout");
    // After a first connection, never give up: the cluster must come back by itself.
    throw_unless_ok(natsOptions_SetMaxReconnect(raw, -1), "setting reconnects");
    throw_unless_ok(natsOptions_SetReconnectWait(raw, options.reconnect_wait.count()), "setting the reconnect wait");
    return handle;
}

}  // namespace

nats_client::nats_client(const client_options& options) : url_{options.url} {
    const auto settings = connection_options(options);
    natsConnection* raw_connection = nullptr;
    const auto status = natsConnection_Connect(&raw_connection, settings.get());
    connection_.reset(raw_connection);
    throw_unless_ok(status, "nats-server at " + url_ + " is unreachable");

    jsOptions js_options;
    throw_unless_ok(jsOptions_Init(&js_options), "initialising JetStream options");
    js_options.Wait = options.request_timeout.count();
    jsCtx* raw_jetstream = nullptr;
    throw_unless_ok(natsConnection_JetStream(&raw_jetstream, raw_connection, &js_options), "opening JetStream");
    jetstream_.reset(raw_jetstream);
}

nats_client::~nats_client() {
    jetstream_.reset();
    if (connection_) {
        natsConnection_Close(connection_.get());
    }
}

bool nats_client::connected() const noexcept {
    return natsConnection_Status(connection_.get()) == NATS_CONN_STATUS_CONNECTED;
}

}  // namespace cluster
