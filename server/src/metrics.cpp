#include "gateway/metrics.hpp"

#include <spdlog/fmt/fmt.h>

#include <iterator>
#include <sys/resource.h>

namespace gateway {
namespace {

using out_it = std::back_insert_iterator<std::string>;

void family(out_it out, std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(out, "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(out_it out, std::string_view name, std::uint64_t value) {
    fmt::format_to(out, "{} {}\n", name, value);
}

void counter(out_it out, std::string_view name, std::string_view help, std::uint64_t value) {
    family(out, name, "counter", help);
    sample(out, name, value);
}

void gauge(out_it out, std::string_view name, std::string_view help, std::uint64_t value) {
    family(out, name, "gauge", help);
    sample(out, name, value);
}

void histogram(out_it out, std::string_view name, std::string_view help, const cascade::latency_histogram& h) {
    family(out, name, "histogram", help);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.bounds_us.size(); ++i) {
        cumulative += h.counts[i];
        // Bounds are in microseconds; Prometheus wants base units (seconds).
        fmt::format_to(out, "{}_bucket{{le=\"{}\"}} {}\n", name, static_cast<double>(h.bounds_us[i]) / 1e6, cumulative);
    }
    fmt::format_to(out, "{}_bucket{{le=\"+Inf\"}} {}\n", name, h.count);
    fmt::format_to(out, "{}_sum {}\n", name, std::chrono::duration<double>(h.sum).count());
    fmt::format_to(out, "{}_count {}\n", name, h.count);
}

std::uint64_t peak_rss_bytes() noexcept {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<std::uint64_t>(usage.ru_maxrss) * 1024U;  // ru_maxrss is in KiB on Linux
}

}  // namespace

std::string format_prometheus(const cascade::metrics_snapshot& bus, const gateway_metrics& gw) {
    std::string text;
    text.reserve(4096);
    const auto out = std::back_inserter(text);

    counter(out, "cascade_bus_submitted_total", "Messages admitted from outside.", bus.submitted);
    counter(out, "cascade_bus_handled_total", "Handler runs that succeeded.", bus.handled);
    counter(out, "cascade_bus_failed_total", "Handler attempts that threw.", bus.failed);
    counter(out, "cascade_bus_retried_total", "Handler attempts after a failure.", bus.retried);
    counter(out, "cascade_bus_dead_lettered_total", "Event deliveries given up after all attempts.", bus.dead_lettered);
    counter(out, "cascade_bus_unhandled_total", "Messages that had no handler.", bus.unhandled);
    counter(out, "cascade_bus_dropped_total", "Raised events dropped past a cascade limit.", bus.dropped);
    counter(out, "cascade_bus_recovered_total", "Cascades resumed from the journal at start.", bus.recovered);
    counter(out, "cascade_bus_replayed_total",
            "Handler runs found recorded in the journal on recovery, so not run again.", bus.replayed);
    counter(out, "cascade_bus_redelivered_total",
            "Recovered messages delivered to a handler that had not run them before the restart.", bus.redelivered);
    gauge(out, "cascade_bus_queued", "Messages queued or running now.", bus.queued);
    gauge(out, "cascade_bus_active_lanes", "Aggregates with a live lane now.", bus.active_lanes);
    gauge(out, "cascade_bus_waiting", "Submitters waiting for room now.", bus.waiting);
    histogram(out, "cascade_bus_handler_latency_seconds", "Handler run time.", bus.handler_latency);

    const auto opened = gateway_metrics::read(gw.connections_opened);
    const auto closed = gateway_metrics::read(gw.connections_closed);
    counter(out, "cascade_gateway_connections_opened_total", "WebSocket sessions opened.", opened);
    counter(out, "cascade_gateway_connections_closed_total", "WebSocket sessions closed.", closed);
    gauge(out, "cascade_gateway_connections", "WebSocket sessions open now.", opened >= closed ? opened - closed : 0);
    counter(out, "cascade_gateway_slow_consumers_total", "Sessions disconnected as slow consumers (4008).",
            gateway_metrics::read(gw.slow_consumers));
    counter(out, "cascade_gateway_http_requests_total", "HTTP requests answered.",
            gateway_metrics::read(gw.http_requests));
    counter(out, "cascade_gateway_frames_in_total", "WebSocket frames received.", gateway_metrics::read(gw.frames_in));
    counter(out, "cascade_gateway_frames_out_total", "WebSocket frames sent.", gateway_metrics::read(gw.frames_out));
    counter(out, "cascade_gateway_bytes_in_total", "WebSocket payload bytes received.",
            gateway_metrics::read(gw.bytes_in));
    counter(out, "cascade_gateway_bytes_out_total", "WebSocket payload bytes sent.",
            gateway_metrics::read(gw.bytes_out));

    family(out, "cascade_gateway_refused_connections_total", "counter",
           "Connections refused or closed before any protocol: by a limit, or a failed TLS handshake.");
    for (const auto& [reason, value] :
         {std::pair{"too_many_connections", &gw.refused_upgrades}, std::pair{"header_too_large", &gw.oversized_headers},
          std::pair{"body_too_large", &gw.oversized_bodies}, std::pair{"request_timeout", &gw.request_timeouts},
          std::pair{"tls_handshake", &gw.tls_handshake_failures}}) {
        fmt::format_to(out, "cascade_gateway_refused_connections_total{{reason=\"{}\"}} {}\n", reason,
                       gateway_metrics::read(*value));
    }

    family(out, "cascade_gateway_errors_total", "counter", "Error replies by protocol error code.");
    for (const auto code : protocol::all_refusals) {
        fmt::format_to(out, "cascade_gateway_errors_total{{code=\"{}\"}} {}\n", protocol::to_string(code),
                       gw.refusals(code));
    }

    gauge(out, "cascade_process_peak_resident_memory_bytes", "Peak resident set size of the server process.",
          peak_rss_bytes());
    return text;
}

}  // namespace gateway
