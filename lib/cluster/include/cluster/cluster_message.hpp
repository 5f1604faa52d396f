#pragma once
// A message as it travels between instances: its id (the submit's, or derived from the message
// that raised it), its cascade and the instance the cascade came from (where reports go), the
// aggregate whose partition handles it, and the message itself in its wire form.

#include <string>
#include <string_view>

namespace cluster {

struct cluster_message {
    std::string id;
    std::string cascade;  ///< the id of the cascade's submitted message
    std::string origin;   ///< the instance whose client submitted the cascade
    std::string aggregate;
    std::string body;  ///< the message in its wire form

    friend bool operator==(const cluster_message&, const cluster_message&) = default;
};

/// As it travels (JSON), and back; decode_message throws std::invalid_argument for anything else.
[[nodiscard]] std::string encode_message(const cluster_message& message);
[[nodiscard]] cluster_message decode_message(std::string_view payload);

}  // namespace cluster
