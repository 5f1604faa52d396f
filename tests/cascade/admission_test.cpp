// admission_control on its own: slots, waiting, waking, cancelling, closing.
#include "admission.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <catch2/catch.hpp>

#include <vector>

namespace asio = boost::asio;
using boost::system::error_code;
using cascade::detail::admission_control;

namespace {

/// Records how each waiter was woken.
struct wake_log {
    std::vector<error_code> woken;
    [[nodiscard]] cascade::detail::room_waiter waiter() {
        return [this](error_code ec) { woken.push_back(ec); };
    }
};

void fill(admission_control& a) {
    while (a.try_acquire()) {
    }
}

}  // namespace

TEST_CASE("admission takes slots up to its capacity and frees each one when it is released", "[admission]") {
    admission_control a{4};
    for (int i = 0; i < 4; ++i) {
        REQUIRE(a.try_acquire());
    }
    CHECK_FALSE(a.try_acquire());
    CHECK(a.release(1) == 3);
    CHECK(a.try_acquire());
    a.acquire_unchecked(2);  // raised events: past the cap
    CHECK(a.in_use() == 6);
    CHECK_FALSE(a.try_acquire());
}

TEST_CASE("waiters are woken together at the low-water mark, not one per freed slot", "[admission]") {
    admission_control a{8};
    fill(a);
    wake_log log;
    a.async_wait(log.waiter());
    a.async_wait(log.waiter());
    CHECK(a.waiting() == 2);
    (void)a.release(1);  // 7 of 8: above the mark of 6
    CHECK(log.woken.empty());
    (void)a.release(1);  // 6: the mark
    CHECK(log.woken == std::vector<error_code>{{}, {}});
    CHECK(a.waiting() == 0);
}

TEST_CASE("a stalled bus wakes every waiter when a slot is free, and none when it is not", "[admission]") {
    admission_control a{8};
    fill(a);
    wake_log log;
    a.async_wait(log.waiter());
    a.async_wait(log.waiter());
    a.wake_if_room();  // no room: nothing to wake for
    CHECK(log.woken.empty());
    (void)a.release(1);
    CHECK(log.woken.empty());
    a.wake_if_room();
    CHECK(log.woken.size() == 2);  // all of them: one that does not submit cannot strand another
}

TEST_CASE("a waiter that finds the queue at its low-water mark as it registers is woken at once", "[admission]") {
    admission_control a{2};
    wake_log log;
    a.async_wait(log.waiter());
    CHECK(log.woken.size() == 1);
    CHECK(a.waiting() == 0);
}

TEST_CASE("a waiter that finds a sliver of room sleeps like the others, until the mark or a stall", "[admission]") {
    // Waking it for every free slot is what made producers thrash; the bus's stall check covers
    // the case where no release will come.
    admission_control a{8};
    fill(a);
    (void)a.release(1);  // 7 of 8: room, above the mark of 6
    wake_log log;
    a.async_wait(log.waiter());
    CHECK(log.woken.empty());
    a.wake_if_room();
    CHECK(log.woken.size() == 1);
}

TEST_CASE("the low-water mark is below the capacity, even for a capacity of one", "[admission]") {
    admission_control a{1};
    REQUIRE(a.try_acquire());
    wake_log log;
    a.async_wait(log.waiter());  // full: it must sleep, not spin
    CHECK(log.woken.empty());
    (void)a.release(1);
    CHECK(log.woken.size() == 1);
}

TEST_CASE("a cancelled waiter is called with operation_aborted and leaves nothing behind", "[admission]") {
    admission_control a{2};
    fill(a);
    wake_log log;
    asio::cancellation_signal cancel;
    a.async_wait(asio::bind_cancellation_slot(cancel.slot(), log.waiter()));
    CHECK(a.waiting() == 1);
    cancel.emit(asio::cancellation_type::terminal);
    CHECK(log.woken == std::vector<error_code>{asio::error::operation_aborted});
    CHECK(a.waiting() == 0);
    (void)a.release(2);  // a wake-up now finds nobody
    CHECK(log.woken.size() == 1);
}

TEST_CASE("closing wakes every waiter, and later waits complete at once", "[admission]") {
    admission_control a{1};
    fill(a);
    wake_log log;
    a.async_wait(log.waiter());
    a.close();
    CHECK(log.woken.size() == 1);
    a.async_wait(log.waiter());
    CHECK(log.woken.size() == 2);
    CHECK(a.waiting() == 0);
}
