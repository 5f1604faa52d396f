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

std::string_view last_error_of(natsStatus status) noexcept {
    natsStatus last = NATS_OK;
    const char* detail = nats_GetLastError(&last);
    return last == status && detail != nullptr ? std::string_view{detail} : std::string_view{};
}

void throw_unless_ok(natsStatus status, std::string_view doing) {
    if (status == NATS_OK) {
        return;
    }
    // The thread's last error text is more precise than the status's name, when it is this one's.
    const auto detail = last_error_of(status);
    std::string what{doing};
    what += ": ";
    what += detail.empty() ? std::string_view{natsStatus_GetText(status)} : detail;
    throw nats_error{status, what};
}

}  // namespace cluster
