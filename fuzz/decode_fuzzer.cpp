// A message name and data from the edge, decoded by the registry of the allocation domain.
// Decoding fails only with cascade::decode_error (anything else would be a 500 for bad input), a
// type not accepted from the edge never decodes there, and what decodes survives the trip back
// to JSON and in again unchanged (as the journal stores and recovers it).
#include <allocation/messages.hpp>
#include <cascade/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

using json = nlohmann::json;

void require(bool holds) {
    if (!holds) {
        __builtin_trap();
    }
}

cascade::message_registry allocation_registry() {
    cascade::message_registry registry;
    registry.add<allocation::batch_created>();
    registry.add<allocation::allocation_required>();
    registry.add<allocation::batch_quantity_changed>();
    registry.add<allocation::allocated>();
    registry.add<allocation::deallocated>();
    registry.add<allocation::out_of_stock>();
    return registry;
}

}  // namespace

/// The input is a name, a newline, and the data's JSON text.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto registry = allocation_registry();
    const std::string_view input{reinterpret_cast<const char*>(data), size};
    const auto newline = input.find('\n');
    if (newline == std::string_view::npos) {
        return 0;
    }
    const auto name = input.substr(0, newline);
    const json body = json::parse(input.substr(newline + 1), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) {
        return 0;
    }
    const auto* type = registry.find(name);
    try {
        const auto message = registry.decode_from_edge(name, body);
        require(type != nullptr && type->from_edge);
        const auto again = registry.decode(message.name(), message.data());
        require(again.data() == message.data());
        require(again.aggregate() == message.aggregate());
    } catch (const cascade::decode_error& e) {
        require(e.code() != cascade::decode_errc::not_from_edge || (type != nullptr && !type->from_edge));
    }
    return 0;
}
