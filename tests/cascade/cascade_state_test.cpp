// cascade_state on its own: one report, whatever happens, and an honest one.
#include "cascade_state.hpp"

#include "test_domain.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <thread>
#include <vector>

using cascade::cascade_status;
using cascade::message_kind;
using cascade::detail::cascade_state;

namespace {

struct report_log {
    int reports = 0;
    int events = 0;
    std::optional<cascade::outcome> last;
    [[nodiscard]] cascade::cascade_observer observer() {
        return {.on_event = [this](const cascade::envelope&) { ++events; },
                .on_done =
                    [this](cascade::outcome out) {
                        ++reports;
                        last = std::move(out);
                    }};
    }
};

}  // namespace

TEST_CASE("a cascade reports once, when its last message is settled", "[cascade_state]") {
    report_log log;
    cascade_state state{7, message_kind::command, log.observer()};
    state.add_pending(2);
    state.set_result(42);
    CHECK_FALSE(state.settle_one());
    CHECK_FALSE(state.settle_one());
    CHECK(state.settle_one());
    state.complete();
    state.complete();
    state.abandon(1, 9);
    CHECK(log.reports == 1);
    REQUIRE(log.last);
    CHECK(log.last->id == 7);
    CHECK(log.last->result == 42);
    CHECK(log.last->status == cascade_status::ok);
}

TEST_CASE("shutdown before the submitted message was handled reports cancelled", "[cascade_state]") {
    report_log log;
    cascade_state state{7, message_kind::command, log.observer()};
    state.abandon(3, 7);
    REQUIRE(log.last);
    CHECK(log.last->status == cascade_status::failed);
    CHECK(log.last->result.is_null());
    REQUIRE(log.last->errors.size() == 1);
    CHECK(log.last->errors[0].code == "cancelled");
    CHECK(log.last->errors[0].handled_id == 7);
}

TEST_CASE("shutdown after the submitted message was handled keeps its result and says unfinished", "[cascade_state]") {
    report_log log;
    cascade_state state{7, message_kind::command, log.observer()};
    state.set_result("b1");
    state.mark_root_settled();
    state.abandon(2, 11);
    REQUIRE(log.last);
    CHECK(log.last->status == cascade_status::partial);
    CHECK(log.last->result == "b1");
    REQUIRE(log.last->errors.size() == 1);
    CHECK(log.last->errors[0].code == "unfinished");
    CHECK(log.last->errors[0].handled_id == 11);
    // What a late handler collects after the report reaches nobody.
    state.record_event(cascade::envelope{.id = 12, .message = cascade::any_message{test_domain::noted{.key = "a"}}});
    CHECK(log.events == 0);
}

TEST_CASE("a cascade dropped unreported reports as cancelled, a dismissed one never reports", "[cascade_state]") {
    report_log dropped;
    report_log dismissed;
    {
        const cascade_state a{1, message_kind::event, dropped.observer()};
        cascade_state b{2, message_kind::command, dismissed.observer()};
        b.dismiss();
    }
    REQUIRE(dropped.last);
    CHECK(dropped.last->status == cascade_status::partial);
    CHECK(dropped.last->errors.at(0).code == "cancelled");
    CHECK(dismissed.reports == 0);
}

TEST_CASE("admitted events never exceed the cascade's limit, even when raised at once", "[cascade_state]") {
    cascade_state state{1, message_kind::event, {}};
    std::atomic<std::size_t> admitted{0};
    std::vector<std::thread> raisers;
    for (int t = 0; t < 4; ++t) {
        raisers.emplace_back([&] {
            for (int i = 0; i < 100; ++i) {
                admitted += state.admit_events(3, 500);
            }
        });
    }
    for (auto& t : raisers) {
        t.join();
    }
    CHECK(admitted == 500);
    state.dismiss();
}

TEST_CASE("limits fail the cascade once per limit, and count every drop", "[cascade_state]") {
    report_log log;
    cascade_state state{1, message_kind::command, log.observer()};
    state.set_result(1);
    state.record_dropped(2, {.handler = "h", .code = "depth_exceeded", .message = "deep", .handled_id = 5});
    state.record_dropped(3, {.handler = "h", .code = "depth_exceeded", .message = "deeper", .handled_id = 6});
    CHECK(state.settle_one());
    state.complete();
    REQUIRE(log.last);
    CHECK(log.last->status == cascade_status::failed);
    CHECK(log.last->dropped == 5);
    CHECK(log.last->errors.size() == 1);
}
