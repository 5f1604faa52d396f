#pragma once
// One message pulled from the inbound stream, owned until it is acknowledged: ack() once its
// handler ran and what it raised is published; nak() to have it delivered again now; dropping
// it unacknowledged lets nats-server deliver it again after the consumer's ack wait.

#include "cluster/nats_handle.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cluster {

class delivery {
public:
    /// Takes a message that a pull consumer fetched.
    explicit delivery(message_handle message);

    [[nodiscard]] std::string_view payload() const noexcept;
    /// Its Nats-Msg-Id (the cascade message id); empty when it was published without one.
    [[nodiscard]] std::string_view msg_id() const noexcept { return msg_id_; }
    [[nodiscard]] std::uint64_t stream_seq() const noexcept { return stream_seq_; }
    /// 1 on the first delivery, more on redeliveries.
    [[nodiscard]] std::uint64_t delivery_count() const noexcept { return delivery_count_; }

    /// Acknowledges it without waiting: an ack lost on the way means one more delivery, which
    /// the receiver de-duplicates anyway. Throws nats_error when it cannot be sent.
    void ack();
    /// Acknowledges it and waits for nats-server to confirm: once this returns, it is not
    /// delivered again. Throws nats_error.
    void ack_and_wait();
    /// Asks for a redelivery after `delay` (at once when zero). Throws nats_error.
    void nak(std::chrono::milliseconds delay = {});

private:
    message_handle message_;
    std::string_view msg_id_;
    std::uint64_t stream_seq_ = 0;
    std::uint64_t delivery_count_ = 0;
};

}  // namespace cluster
