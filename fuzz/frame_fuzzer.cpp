// Any bytes as a WebSocket text frame. parse_request never throws for bad input; a request it
// accepts has an id (every answer needs one); an error's `re`, when there is one, is not empty;
// and the error frame for it can be written whatever the frame held (invalid UTF-8 included).
#include "gateway/protocol.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

namespace {

void require(bool holds) {
    if (!holds) {
        __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace gateway;
    const std::string_view text{reinterpret_cast<const char*>(data), size};
    constexpr std::array limits{json_limits{}, json_limits{.max_depth = 3, .max_string_bytes = 8}};
    for (const auto& bounds : limits) {
        const auto parsed = protocol::parse_request(text, bounds);
        if (const auto* request = std::get_if<protocol::request>(&parsed)) {
            require(!protocol::id_of(*request).empty());
            if (const auto* subscribe = std::get_if<protocol::subscribe_request>(request)) {
                require(subscribe->start.from != log_start::point::seq || subscribe->start.seq >= 1);
            }
        } else {
            const auto& error = std::get<protocol::request_error>(parsed);
            require(!error.re || !error.re->empty());
            require(!protocol::error_frame(error.re.value_or(""), error.code, error.message).empty());
        }
    }
    return 0;
}
