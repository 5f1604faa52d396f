// The feed scenario: what publishing one event costs the live feed when N subscriptions that do
// not want it are open, against the same with none. Publishing runs under the feed's one lock for
// every event of every cascade, so this cost is added to every client's submit.
#include "cascade/envelope.hpp"
#include "gateway/live_feed.hpp"
#include "report.hpp"
#include "scenarios.hpp"

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::bench {

namespace {

struct feed_settings {
    std::size_t subscriptions = 400'000;
    std::size_t events = 20'000;
};

struct noted {
    static constexpr std::string_view name = "Noted";
    static constexpr message_kind kind = message_kind::event;
    std::string key;
    std::uint64_t n{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return key; }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(noted, key, n)

[[nodiscard]] envelope note(std::uint64_t n) {
    return {.id = n,
            .correlation_id = n,
            .depth = 1,
            .timestamp = std::chrono::system_clock::now(),
            .message = any_message{noted{"agg-" + std::to_string(n % 64), n}}};
}

[[nodiscard]] std::shared_ptr<gateway::outbox> open_outbox(std::size_t frames) {
    // Roomy enough never to overflow: an overflowed outbox drops frames, which would flatter the run.
    return std::make_shared<gateway::outbox>(gateway::queue_limits{.max_frames = frames, .max_bytes = 1UL << 32U},
                                             "bye");
}

/// Nanoseconds per publish with `others` subscriptions that want none of the events (each its own
/// name, all on one connection, as one client could open them) and one that wants them all.
[[nodiscard]] double ns_per_publish(std::size_t others, std::size_t events) {
    gateway::live_feed feed;
    const auto crowd = open_outbox(16);
    for (std::size_t i = 0; i < others; ++i) {
        const auto id = "s" + std::to_string(i);
        (void)feed.add(crowd, id, {.names = {"Other-" + std::to_string(i)}});
    }
    const auto reader = open_outbox(2 * events + 16);
    (void)feed.add(reader, "wanted", {.names = {"Noted"}});

    constexpr std::uint64_t warm_up = 1'000;
    for (std::uint64_t n = 0; n < warm_up; ++n) {
        feed.publish(note(n));
    }
    std::vector<envelope> batch;
    batch.reserve(events);
    for (std::uint64_t n = 0; n < events; ++n) {
        batch.push_back(note(warm_up + n));  // built outside the timed loop
    }
    const auto start = std::chrono::steady_clock::now();
    for (const auto& event : batch) {
        feed.publish(event);
    }
    const auto elapsed = std::chrono::steady_clock::now() - start;
    return std::chrono::duration<double, std::nano>(elapsed).count() / static_cast<double>(events);
}

void run_feed(const feed_settings& s, report& out) {
    std::printf("live feed: publish cost with 0 and with %zu other subscriptions, %zu events\n", s.subscriptions,
                s.events);
    const auto alone = ns_per_publish(0, s.events);
    const auto crowded = ns_per_publish(s.subscriptions, s.events);
    const auto per_publish = [&out](std::string_view label, double ns, std::size_t others) {
        const auto scope = out.with({{"series", "cascade"}, {"other_subscriptions", others}});
        out.row(label, format_duration(std::chrono::nanoseconds{static_cast<std::int64_t>(ns)}) + " per publish",
                {{.name = "publish_cost", .value = ns, .unit = "ns"}});
    };
    per_publish("0 other subscriptions", alone, 0);
    per_publish(std::to_string(s.subscriptions) + " other subscriptions", crowded, s.subscriptions);
    out.row("ratio", std::to_string(crowded / alone),
            {{.name = "crowded_over_alone", .value = crowded / alone, .unit = "x"}});
    out.row("peak memory", std::to_string(peak_rss_mib()) + " MiB",
            {{.name = "peak_memory", .value = peak_rss_mib(), .unit = "MiB"}});
}

feed_settings& settings() {
    static feed_settings s;
    return s;
}

}  // namespace

void add_feed_scenario(CLI::App& app, report& out) {
    auto& s = settings();
    auto* cmd = app.add_subcommand("feed", "live feed: publish cost with 0 and with N subscriptions that do not match");
    cmd->add_option("--subscriptions", s.subscriptions, "subscriptions that match no event")->capture_default_str();
    cmd->add_option("--events", s.events, "events published in each timed run")->capture_default_str();
    cmd->callback([&s, &out] { run_feed(s, out); });
}

}  // namespace cascade::bench
