#pragma once
// The journal: what has to outlive the process for an accepted cascade to complete after a crash,
// exactly once in its effects. The bus appends each submitted message before it enters a lane,
// records each handler's run with the events it raised before those are routed, and records each
// cascade's outcome; on start it reads back what was left unfinished. A store that holds the
// journal commits a handler's run in the transaction that holds the handler's effects. It also
// keeps the dead letters, so that a restart does not forget them.

#include "cascade/dead_letter.hpp"
#include "cascade/envelope.hpp"
#include "cascade/outcome.hpp"
#include "cascade/registry.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascade {

/// An event raised by a handler's run, with the id the bus gave it.
struct raised_event {
    message_id id{};
    any_message message;
};

/// One handler's successful run of one message: what it answered and what it raised.
struct handler_run {
    message_id message{};  ///< the message handled
    message_id root{};     ///< the submitted message of its cascade
    std::string handler;
    nlohmann::json result;  ///< a command's result; null for an event
    std::vector<raised_event> raised;
    /// Set by a store that recorded the run in a transaction it has not committed yet (it
    /// commits many units of work together): the bus waits for journal::flush(batch) before the
    /// run's events are routed. 0: committed.
    std::uint64_t batch = 0;
};

/// A submitted message as the journal keeps it.
struct journaled_submit {
    message_id id{};
    std::string key;        ///< the submitter's idempotency key; empty for none
    std::string principal;  ///< who submitted it (envelope::principal); empty when unknown
    any_message message;
};

/// What the journal knows under an idempotency key.
struct keyed_submit {
    journaled_submit submit;
    std::optional<outcome> finished;  ///< its recorded outcome; std::nullopt while it runs
};

/// What recovery starts from.
struct journal_state {
    std::vector<journaled_submit> unfinished;  ///< appended and not finished, oldest first
    message_id last_id{};                      ///< the highest message id recorded anywhere
    std::vector<dead_letter> letters;          ///< the dead letters kept, by id
    std::uint64_t last_letter{};               ///< the highest letter id held (decoded or not)
};

/// Runs once a write is committed (with nullptr) or has failed; on any thread, never inside the
/// call that queued the write.
using journal_callback = std::function<void(std::exception_ptr)>;

class journal {
public:
    virtual ~journal() = default;

    /// True when what is committed survives the process (the in-memory journal's does not).
    [[nodiscard]] virtual bool durable() const noexcept = 0;

    // Writing: each call queues one record; records commit in the order they were queued, many
    // to a transaction (group commit).

    /// A submit to run; a second submit under the same non-empty key fails its callback.
    virtual void append(journaled_submit submit, journal_callback done) = 0;
    /// A run the bus records itself: the handler's effects are outside the journal's store.
    virtual void record_run(handler_run run, journal_callback done) = 0;
    /// The cascade of `root` came to `result`: it is not recovered again, and its key answers
    /// with it until retention drops it.
    virtual void finish(message_id root, const outcome& result, journal_callback done) = 0;
    /// Calls back once the store's transaction `batch` (handler_run::batch) has committed, or
    /// with the failure that rolled it back.
    virtual void flush(std::uint64_t batch, journal_callback done) = 0;
    /// A dead letter, numbered by the bus, kept until drop_letter names it.
    virtual void keep_letter(const dead_letter& letter, journal_callback done) = 0;
    /// The dead letter numbered `id` is no longer kept (its retry is done, or newer letters
    /// pushed it out).
    virtual void drop_letter(std::uint64_t id, journal_callback done) = 0;

    // Reading: what is committed. `registry` decodes the messages kept.

    [[nodiscard]] virtual std::optional<handler_run> find_run(message_id message, std::string_view handler,
                                                              const message_registry& registry) = 0;
    [[nodiscard]] virtual std::optional<keyed_submit> find(std::string_view key, const message_registry& registry) = 0;
    /// Everything appended and not finished, for the bus to run again, and the dead letters.
    [[nodiscard]] virtual journal_state recover(const message_registry& registry) = 0;
};

/// The outcome as the journal keeps it (its events in their wire form), and back.
[[nodiscard]] nlohmann::json to_json(const outcome& result);
/// Throws decode_error for an event the registry does not know, nlohmann::json::exception for a
/// malformed record.
[[nodiscard]] outcome outcome_from_json(const nlohmann::json& recorded, const message_registry& registry);
/// An envelope from its wire form (to_json(envelope)).
[[nodiscard]] envelope envelope_from_json(const nlohmann::json& recorded, const message_registry& registry);
/// A dead letter from its wire form (to_json(dead_letter)).
[[nodiscard]] dead_letter dead_letter_from_json(const nlohmann::json& recorded, const message_registry& registry);

}  // namespace cascade
