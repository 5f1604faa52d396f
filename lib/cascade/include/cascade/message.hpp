#pragma once
// A message is a plain struct with a stable wire name, a kind and an aggregate key;
// any_message erases its type so the bus can queue and route it.

#include "cascade/fields.hpp"

#include <nlohmann/json.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace cascade {

/// Commands have exactly one handler and a result; events have zero or more handlers.
enum class message_kind : std::uint8_t { command, event };

[[nodiscard]] constexpr std::string_view to_string(message_kind kind) noexcept {
    return kind == message_kind::command ? "command" : "event";
}

/// What a struct needs to travel on the bus: `static constexpr std::string_view name`,
/// `static constexpr message_kind kind`, `aggregate()` giving the key of its lane, and
/// nlohmann_json conversions both ways (given by cascade::described for a message that lists its
/// fields, see fields.hpp). It may also declare `static constexpr bool from_edge` (see
/// accepted_from_edge).
template <class M>
concept message = std::is_class_v<M> && std::copy_constructible<M> && requires(const M& m, const nlohmann::json& j) {
    { M::name } -> std::convertible_to<std::string_view>;
    { M::kind } -> std::convertible_to<message_kind>;
    { m.aggregate() } -> std::convertible_to<std::string_view>;
    {nlohmann::json(m)};
    { j.get<M>() } -> std::same_as<M>;
};

template <class M>
concept command = message<M> && M::kind == message_kind::command;

template <class M>
concept event = message<M> && M::kind == message_kind::event;

/// Whether clients may submit M from outside the bus (through the gateway): M::from_edge when M
/// declares it, else true for a command and false for an event. An event is a fact an aggregate
/// recorded; one claimed by a client (a forged `Allocated`, say) would change read models while
/// the aggregate knows nothing of it.
template <message M>
[[nodiscard]] consteval bool accepted_from_edge() noexcept {
    if constexpr (requires {
                      { M::from_edge } -> std::convertible_to<bool>;
                  }) {
        return M::from_edge;
    } else {
        return M::kind == message_kind::command;
    }
}

class any_message;

/// Everything the bus knows about one message type, built once per type.
struct message_type {
    std::string_view name;
    message_kind kind;
    bool from_edge;     ///< accepted_from_edge<M>()
    std::size_t index;  ///< dense, process-wide; indexes handler tables
    std::string_view (*aggregate_of)(const void* payload) noexcept;
    nlohmann::json (*to_json)(const void* payload);
    any_message (*from_json)(const nlohmann::json& data);  ///< throws nlohmann::json::exception
    /// The JSON Schema of its data (data_schema), or {"type":"object"} when its fields are not described.
    nlohmann::json (*schema)();
    std::string_view aggregate_field;  ///< the field holding its aggregate key; empty when not described
};

namespace detail {
[[nodiscard]] std::size_t next_message_type_index() noexcept;
}  // namespace detail

template <message M>
[[nodiscard]] const message_type& message_type_of() noexcept;

/// A message of any type, shared and immutable: copies are cheap and safe across threads.
class any_message {
public:
    // Not an any_message first: checking message<any_message> would otherwise ask whether
    // any_message is copyable, which considers this constructor again (clang refuses the loop).
    template <class M>
    requires(!std::same_as<M, any_message> && message<M>) explicit any_message(M msg)
        : type_{&message_type_of<M>()}, payload_{std::make_shared<const M>(std::move(msg))} {}

    [[nodiscard]] const message_type& type() const noexcept { return *type_; }
    [[nodiscard]] std::string_view name() const noexcept { return type_->name; }
    [[nodiscard]] message_kind kind() const noexcept { return type_->kind; }
    [[nodiscard]] std::string_view aggregate() const noexcept { return type_->aggregate_of(payload_.get()); }
    [[nodiscard]] nlohmann::json data() const { return type_->to_json(payload_.get()); }
    [[nodiscard]] const void* payload() const noexcept { return payload_.get(); }

    /// The typed message, or nullptr when it is of another type.
    template <message M>
    [[nodiscard]] const M* get_if() const noexcept {
        return type_ == &message_type_of<M>() ? static_cast<const M*>(payload_.get()) : nullptr;
    }

private:
    const message_type* type_;
    std::shared_ptr<const void> payload_;
};

template <message M>
const message_type& message_type_of() noexcept {
    static const message_type type{
        .name = M::name,
        .kind = M::kind,
        .from_edge = accepted_from_edge<M>(),
        .index = detail::next_message_type_index(),
        .aggregate_of = [](const void* p) noexcept -> std::string_view {
            return static_cast<const M*>(p)->aggregate();
        },
        .to_json = [](const void* p) { return nlohmann::json(*static_cast<const M*>(p)); },
        .from_json = [](const nlohmann::json& j) { return any_message{j.get<M>()}; },
        .schema =
            [] {
                if constexpr (described<M>) {
                    return data_schema<M>();
                } else {
                    return nlohmann::json{{"type", "object"}};
                }
            },
        .aggregate_field =
            [] {
                if constexpr (described<M>) {
                    return aggregate_field<M>();
                } else {
                    return std::string_view{};
                }
            }(),
    };
    return type;
}

}  // namespace cascade
