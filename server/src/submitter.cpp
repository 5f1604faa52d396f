#include "gateway/submitter.hpp"

#include "gateway/protocol.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <memory>
#include <utility>

namespace gateway {

namespace net = boost::asio;

cascade::cascade_observer submitter::feeding(submit_observer observer) const {
    // Set by on_recorded, which precedes every event (on another thread, possibly).
    auto replay = std::make_shared<std::atomic<bool>>(false);
    auto on_event = [feed = feed_, replay, inner = std::move(observer.on_event)](const cascade::envelope& event) {
        if (replay->load(std::memory_order_acquire)) {
            if (inner) {
                inner(event, 0, protocol::event_body(event));
            }
            return;
        }
        // The submitter's own frame first: its ack then precedes any feed copy of its events.
        feed->publish(event, [&](std::uint64_t seq, std::string_view body) {
            if (inner) {
                inner(event, seq, body);
            }
        });
    };
    return {.on_recorded =
                [replay, inner = std::move(observer.on_recorded)](cascade::message_id id, bool replayed) {
                    replay->store(replayed, std::memory_order_release);
                    if (inner) {
                        inner(id, replayed);
                    }
                },
            .on_event = std::move(on_event),
            .on_done = std::move(observer.on_done)};
}

cascade::submit_result submitter::submit(cascade::any_message msg, submit_observer observer,
                                         cascade::submit_options options) {
    if (!accepting()) {
        return {.status = cascade::admission::shutting_down, .id = 0};
    }
    if (!bus_.journaled()) {
        options.key.clear();  // the bus would refuse a key it cannot keep: the submit goes unkeyed
    } else if (!options.key.empty()) {
        options.key = journal_key(options.principal, options.key);
    }
    return bus_.try_submit(std::move(msg), feeding(std::move(observer)), std::move(options));
}

std::string submitter::journal_key(std::string_view principal, std::string_view id) {
    if (principal.empty()) {
        return std::string{id};
    }
    // Length-prefixed: "a:b" + "c" and "a" + "b:c" stay apart.
    auto key = std::to_string(principal.size());
    key += ':';
    key += principal;
    key += ':';
    key += id;
    return key;
}

std::optional<cascade::keyed_submit> submitter::find_submit(std::string_view principal, std::string_view id) const {
    return bus_.find_submit(journal_key(principal, id));
}

std::optional<cascade::submit_result> submitter::retry(std::uint64_t letter, submit_observer observer) {
    if (!accepting()) {
        return cascade::submit_result{.status = cascade::admission::shutting_down, .id = 0};
    }
    return bus_.retry_dead_letter(letter, feeding(std::move(observer)));
}

net::awaitable<submission> submitter::submit_and_wait(cascade::any_message msg) {
    return submit_and_wait(std::move(msg), cascade::submit_options{});
}

net::awaitable<submission> submitter::submit_and_wait(cascade::any_message msg, cascade::submit_options options) {
    auto shared = std::make_shared<cascade::any_message>(std::move(msg));
    // Named first: GCC 12 destroys a temporary built inside a co_await expression twice.
    starter start = [this, shared, options = std::move(options)](submit_observer observer) {
        return std::optional{submit(std::move(*shared), std::move(observer), options)};
    };
    auto answer = co_await await_outcome(std::move(start));
    co_return std::move(*answer);  // a submission always starts or is refused
}

net::awaitable<std::optional<submission>> submitter::retry_and_wait(std::uint64_t letter) {
    return await_outcome([this, letter](submit_observer observer) { return retry(letter, std::move(observer)); });
}

net::awaitable<std::optional<submission>> submitter::await_outcome(starter start) {
    auto initiate = [](auto handler, starter begin) {
        // std::function needs a copyable callable: share the move-only handler.
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        // Resumes the waiting coroutine on its own executor, never on the bus's threads.
        auto complete = [shared](std::optional<submission> result) {
            net::post(net::append(std::move(*shared), std::move(result)));
        };
        // on_event calls of one cascade never overlap and all precede on_done: no lock.
        auto seqs = std::make_shared<std::unordered_map<cascade::message_id, std::uint64_t>>();
        const auto admitted = begin({.on_recorded = {},
                                     .on_event = [seqs](const cascade::envelope& event, std::uint64_t seq,
                                                        std::string_view /*body*/) { seqs->emplace(event.id, seq); },
                                     .on_done =
                                         [complete, seqs](cascade::outcome outcome) {
                                             complete(submission{.admission = cascade::admission::accepted,
                                                                 .outcome = std::move(outcome),
                                                                 .seqs = std::move(*seqs)});
                                         }});
        if (!admitted) {
            complete(std::nullopt);
        } else if (!*admitted) {
            complete(submission{.admission = admitted->status, .outcome = std::nullopt});
        }
    };
    co_return co_await net::async_initiate<const net::use_awaitable_t<>&, void(std::optional<submission>)>(
        std::move(initiate), net::use_awaitable, std::move(start));
}

}  // namespace gateway
