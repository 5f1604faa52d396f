// One command, the event its handler raises, a handler of that event, and a submit: the bus
// runs the whole cascade and answers with its outcome. Exits 1 if the outcome is not the
// expected one (scripts/check-install.sh runs it as a test).
#include <cascade/bus.hpp>

#include <boost/asio/use_future.hpp>

#include <atomic>
#include <iostream>
#include <string>
#include <tuple>

// A command: exactly one handler, which answers with a result.
struct place_order {
    static constexpr std::string_view name = "PlaceOrder";
    static constexpr cascade::message_kind kind = cascade::message_kind::command;
    std::string orderid;
    int qty{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return orderid; }  // its lane
    static constexpr auto fields() {  // its JSON both ways and its schema in the catalog
        return std::tuple{cascade::field{"orderid", &place_order::orderid, cascade::aggregate_key},
                          cascade::field{"qty", &place_order::qty, cascade::at_least(1)}};
    }
};

// An event: any number of handlers.
struct order_placed {
    static constexpr std::string_view name = "OrderPlaced";
    static constexpr cascade::message_kind kind = cascade::message_kind::event;
    std::string orderid;
    int qty{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return orderid; }
    static constexpr auto fields() {
        return std::tuple{cascade::field{"orderid", &order_placed::orderid, cascade::aggregate_key},
                          cascade::field{"qty", &order_placed::qty}};
    }
};

int main() {
    using boost::asio::awaitable;
    std::atomic<int> confirmed{0};  // before the bus: outlives its threads
    cascade::bus bus{{.threads = 2}};

    bus.handle<place_order>("place_order", [](const place_order& cmd, cascade::context& ctx) -> awaitable<std::string> {
        ctx.raise(order_placed{cmd.orderid, cmd.qty});  // collected when this handler completes
        co_return "accepted " + cmd.orderid;
    });
    bus.subscribe<order_placed>("confirm", [&](const order_placed& evt, cascade::context&) -> awaitable<void> {
        std::cout << "confirm: order " << evt.orderid << ", " << evt.qty << " items\n";
        ++confirmed;
        co_return;
    });

    // Outside a coroutine a future waits for the outcome; inside one: co_await bus.submit(...).
    place_order cmd{"o1", 3};
    const cascade::outcome out = bus.async_submit(cascade::any_message{std::move(cmd)}, boost::asio::use_future).get();

    std::cout << "status: " << cascade::to_string(out.status) << ", result: " << out.result
              << ", events: " << out.events.size() << '\n';
    const bool expected = out.status == cascade::cascade_status::ok && out.result == "accepted o1" &&
                          out.events.size() == 1 && out.events[0].name() == "OrderPlaced" && confirmed == 1;
    return expected ? 0 : 1;
}
