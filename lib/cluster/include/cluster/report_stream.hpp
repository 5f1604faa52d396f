#pragma once
// What handling instances tell a cascade's origin: one report per handled message, with the
// events it raised in their wire form (the origin streams them to its client) and their count
// (the origin's cascade_tally). Reports go through JetStream (stream "CASCADE_REPORTS", subject
// "cascade.report.<origin>"), so that none is lost on the way; a report published again for the
// same message (its redelivery) is stored once, and the origin's tally ignores any that slips by.

#include "cluster/durable_consumer.hpp"
#include "cluster/nats_client.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cluster {

struct handled_report {
    std::string cascade;              ///< the id of the cascade's submitted message
    std::string message;              ///< the id of the message handled
    std::vector<std::string> events;  ///< what it raised, each in its wire form (JSON), in order

    friend bool operator==(const handled_report&, const handled_report&) = default;
};

/// The report as it travels (JSON), and back; decode_report throws std::invalid_argument for
/// anything that is not a report.
[[nodiscard]] std::string encode_report(const handled_report& report);
[[nodiscard]] handled_report decode_report(std::string_view payload);

class report_stream {
public:
    static constexpr const char* name = "CASCADE_REPORTS";

    /// Creates the stream, or binds to it when another instance already did. Throws nats_error.
    explicit report_stream(nats_client& client);

    /// Sends `report` to the instance `origin` and waits for nats-server's ack. Throws nats_error.
    void publish(std::string_view origin, const handled_report& report);

    /// The durable consumer of the reports addressed to `origin`.
    [[nodiscard]] static consumer_spec consumer_for(std::string_view origin);

private:
    nats_client* client_;
};

}  // namespace cluster
