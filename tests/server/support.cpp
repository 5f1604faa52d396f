#include "support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <thread>

namespace server_test {

namespace net = boost::asio;

bool eventually_true(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + generous;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::microseconds{500});
    }
    return true;
}

net::awaitable<void> gate::wait() {
    // Returns with channel_closed once the gate is open; nothing is ever sent.
    (void)co_await channel_.async_receive(net::as_tuple(net::use_awaitable));
}

std::shared_ptr<gate> install_test_domain(cascade::bus& bus) {
    auto held = std::make_shared<gate>();
    bus.dependencies().provide<gate>(held);
    bus.declare<touched>();
    bus.declare<explode>();
    bus.handle<touch>("touch", [](const touch& cmd, cascade::context& ctx) -> net::awaitable<std::string> {
        for (int seq = 1; seq <= cmd.events; ++seq) {
            ctx.raise(touched{.key = cmd.key, .seq = seq});
        }
        co_return cmd.key;
    });
    bus.handle<refuse>("refuse", [](const refuse& cmd, cascade::context&) -> net::awaitable<void> {
        throw std::runtime_error{cmd.reason};
        co_return;
    });
    bus.handle<stumble>("stumble", [](const stumble& cmd, cascade::context& ctx) -> net::awaitable<void> {
        ctx.raise(broken{.key = cmd.key});
        co_return;
    });
    bus.subscribe<broken>(
        "always_fails",
        [](const broken&, cascade::context&) -> net::awaitable<void> {
            throw std::runtime_error{"this handler always fails"};
            co_return;
        },
        cascade::retry_policy::no_retry());
    bus.handle<hold>("hold", [](const hold& cmd, cascade::context& ctx) -> net::awaitable<void> {
        co_await ctx.get<gate>().wait();
        ctx.raise(touched{.key = cmd.key, .seq = 1});
    });
    bus.handle<linger>("linger", [](const linger& cmd, cascade::context& ctx) -> net::awaitable<std::string> {
        ctx.raise(lingered{.key = cmd.key});
        co_return cmd.key;
    });
    bus.subscribe<lingered>("wait_for_gate", [](const lingered&, cascade::context& ctx) -> net::awaitable<void> {
        co_await ctx.get<gate>().wait();
    });
    return held;
}

gateway::server_options test_options() {
    gateway::server_options options;
    options.address = "127.0.0.1";
    options.port = 0;
    return options;
}

namespace {

cascade::bus_options test_bus_options(fixture::bus_placement placement, gateway::io_pool& io) {
    cascade::bus_options options;
    options.threads = 2;
    if (placement == fixture::bus_placement::io_context) {
        options.executor = io.first();
    }
    return options;
}

}  // namespace

fixture::fixture(gateway::server_options options, const domain_loader& load, bus_placement placement)
    : io{test_io_threads},
      bus{test_bus_options(placement, io)},
      hold_gate{install_test_domain(bus)},
      domain{load ? load(bus) : cascade_server::app_domain{}},
      server{io, bus, std::move(options), domain.http_routes} {
    spdlog::set_level(spdlog::level::warn);
    server.start();
    io.start();
}

fixture::~fixture() {
    // Held cascades finish, the bus goes idle, then the server stops: nothing of the bus's can
    // reach a server that is gone.
    hold_gate->open();
    (void)bus.shutdown(generous);
    server.stop();
    io.stop();
}

}  // namespace server_test
