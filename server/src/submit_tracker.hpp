#pragma once
// The frames of one accepted WebSocket submit, sent into its session's outbox from the bus's
// threads. Internal: include only from server/src.

#include "gateway/outbox.hpp"
#include "gateway/submitter.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace gateway {

/// The bus may report events before try_submit has returned, so whichever comes first (the
/// reader's ack, the journal's record, or the first callback) sends the ack, and the others wait
/// for it: `ack` always precedes `event` and `done`. On a journaled bus the reader does not ack:
/// the journal's record does, once the submit is committed.
class submit_tracker {
public:
    /// `journaled`: the ack comes only from the journal's record.
    submit_tracker(std::shared_ptr<outbox> out, std::string id, bool journaled) noexcept
        : outbox_{std::move(out)}, id_{std::move(id)}, journaled_{journaled} {}

    void acknowledge(cascade::message_id message, bool replay = false);
    void on_event(const cascade::envelope& event, std::uint64_t seq, std::string_view body);
    void on_done(const cascade::outcome& outcome);

    /// The observer that hands every callback of the cascade to `self`.
    [[nodiscard]] static submit_observer observer(const std::shared_ptr<submit_tracker>& self);

private:
    std::shared_ptr<outbox> outbox_;
    std::string id_;
    bool journaled_;
    std::mutex ack_mutex_;
    std::atomic<bool> acked_{false};
    std::uint64_t events_ = 0;
};

}  // namespace gateway
