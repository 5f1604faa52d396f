#include "cluster/nats_error.hpp"

namespace cluster {

bool nats_error::retryable() const noexcept {
    switch (status_) {
        case NATS_TIMEOUT:
        case NATS_NO_SERVER:
        case NATS_NO_RESPONDERS:
        case NATS_CONNECTION_CLOSED:
        case NATS_CONNECTION_DISCONNECTED:
        case NATS_STALE_CONNECTION:
        case NATS_IO_ERROR:
            return true;
        default:
            return false;
    }
}

void throw_unless_ok(natsStatus status, std::string_view doing) {
    if (status == NATS_OK) {
        return;
    }
    // The thread's last error text is more precise than the status's name (for JetStream, the
    // server's own description), when it is this failure's.
    natsStatus last = NATS_OK;
    const char* detail = nats_GetLastError(&last);
    const bool detail_is_ours = last == status && detail != nullptr && *detail != '\0';
    std::string what{doing};
    what += ": ";
    what += detail_is_ours ? detail : natsStatus_GetText(status);
    throw nats_error{status, what};
}

}  // namespace cluster
