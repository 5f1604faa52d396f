#pragma once
// What a failed libnats call throws: its status, and whether trying again later may succeed.

#include <nats/nats.h>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cluster {

class nats_error : public std::runtime_error {
public:
    nats_error(natsStatus status, const std::string& what) : std::runtime_error{what}, status_{status} {}

    [[nodiscard]] natsStatus status() const noexcept { return status_; }

    /// True when the server was unreachable or slow to answer (no connection, a timeout, no
    /// JetStream responding): the same call may succeed once it is back.
    [[nodiscard]] bool retryable() const noexcept;

private:
    natsStatus status_;
};

/// libnats's own account of the failure `status` that the calling thread just had (for
/// JetStream, nats-server's text); empty when its last error is another one's.
[[nodiscard]] std::string_view last_error_of(natsStatus status) noexcept;

/// Throws nats_error when `status` is not NATS_OK, saying what was being done and libnats's
/// own account of the failure.
void throw_unless_ok(natsStatus status, std::string_view doing);

}  // namespace cluster
