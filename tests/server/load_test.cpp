// Many clients at once: every submit gets exactly one terminal frame and the right events.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

TEST_CASE("50 concurrent clients x 200 submits: one terminal frame each, every event in order", "[server][load]") {
    constexpr std::size_t clients = 50;
    constexpr std::size_t submits = 200;
    fixture f;
    // 16 in flight per client: the bus, the queues and the writers all see real concurrency.
    const auto report = run_load(f.port(), clients, submits, 16);
    INFO((report.problems.empty() ? std::string{} : report.problems.front()));
    CHECK(report.problems.empty());
    CHECK(report.acks == clients * submits);
    CHECK(report.dones == clients * submits);
    CHECK(report.errors == 0);
    // events = i % 3 for i in 0..199: 0+1+2 repeating, 66 full rounds plus i = 198 (0), 199 (1).
    CHECK(report.events == clients * (66 * 3 + 1));
    CHECK(gateway::gateway_metrics::read(f.server.metrics().connections_opened) == clients);
}
